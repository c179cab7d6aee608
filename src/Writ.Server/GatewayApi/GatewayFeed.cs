using System.Collections.Concurrent;

namespace Writ.Server.GatewayApi;

/// <summary>
/// Tells standalone gateways (<c>writ gateway</c>) that something they hold may have changed: a credential revoked, a
/// task closed, an agent suspended, a policy applied, a signing key rotated, a secret rotated. Each change bumps
/// <see cref="Version"/> and answers every waiting long poll; a gateway applies the new state, then polls again naming
/// the version it applied, which is its acknowledgement.
/// <para>
/// <see cref="PublishAsync"/> returns only once every gateway that is following has acknowledged (or after
/// <see cref="PropagationTimeout"/>), so the API call that revoked something answers after the gateways know: the
/// revoked token is refused on its next call through any gateway, as on the server (invariant 9). A gateway that does
/// not acknowledge in time is logged; its own side stops trusting its caches when it cannot reach the server.
/// </para>
/// </summary>
internal sealed class GatewayFeed(TimeProvider clock, ILogger<GatewayFeed> logger)
{
    public static readonly TimeSpan PropagationTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A gateway that has not polled for this long is no longer waited for (a gateway polls every 10 s, and counts an unanswered poll as losing the server after 12 s).</summary>
    private static readonly TimeSpan FollowingWindow = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, Follower> _followers = new(StringComparer.Ordinal);
    private long _version = 1;

    /// <summary>
    /// Names this run of the server: versions restart at 1 when it restarts, so a gateway's acknowledgement counts only
    /// for the epoch it names (a version from an earlier run means nothing applied).
    /// </summary>
    public string Epoch { get; } = Core.Common.Ids.Random(12);
    private TaskCompletionSource _changed = NewSignal();
    private TaskCompletionSource _acknowledged = NewSignal();

    private sealed record Follower(string Gateway, long Applied, DateTimeOffset SeenAt);

    public long Version => Volatile.Read(ref _version);

    /// <summary>
    /// The gateway processes following the feed (several may share one gateway name and token): name, the version each
    /// has applied, when it last polled.
    /// </summary>
    public IReadOnlyList<(string Name, long Applied, DateTimeOffset SeenAt)> Followers =>
        _followers.Select(f => (f.Value.Gateway, f.Value.Applied, f.Value.SeenAt)).OrderBy(f => f.Gateway, StringComparer.Ordinal).ToList();

    /// <summary>Announces a change that has committed, and waits (bounded) until every following gateway has applied it.</summary>
    public async Task PublishAsync()
    {
        long version;
        lock (_lock)
        {
            version = ++_version;
            Swap(ref _changed).TrySetResult();
        }
        var deadline = clock.GetUtcNow() + PropagationTimeout;
        while (true)
        {
            Task acknowledged;
            lock (_lock) acknowledged = _acknowledged.Task;
            var behind = Behind(version);
            if (behind.Count == 0) return;
            var left = deadline - clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                GatewayFeedMessages.NotAcknowledged(logger, version, string.Join(", ", behind));
                return;
            }
            await Task.WhenAny(acknowledged, Task.Delay(left, clock));
        }
    }

    /// <summary>
    /// One long poll of process <paramref name="instance"/> of gateway <paramref name="gateway"/>, which has applied
    /// <paramref name="applied"/> of <paramref name="epoch"/>: records that (its acknowledgement), then waits until there is
    /// a newer version or <paramref name="wait"/> has passed. A version of another epoch, or one this run never
    /// published, counts as nothing applied and is answered at once.
    /// </summary>
    public async Task WaitAsync(string gateway, string instance, string epoch, long applied, TimeSpan wait, CancellationToken ct)
    {
        Task changed;
        var key = gateway + "/" + instance;
        lock (_lock)
        {
            if (epoch != Epoch || applied > _version) applied = 0;
            _followers[key] = new Follower(gateway, applied, clock.GetUtcNow());
            Swap(ref _acknowledged).TrySetResult();
            changed = _changed.Task;
            if (applied != _version) return;
        }
        try
        {
            await changed.WaitAsync(wait, clock, ct);
        }
        catch (TimeoutException)
        {
            // Nothing changed: the gateway gets the same state and polls again.
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The gateway hung up (stopped, or restarting): it is not waited for until it polls again.
            _followers.TryRemove(key, out _);
            throw;
        }
    }

    /// <summary>Forgets every process of a gateway (its token was revoked): changes are no longer held up for them.</summary>
    public void Forget(string gateway)
    {
        foreach (var f in _followers.Where(f => f.Value.Gateway == gateway)) _followers.TryRemove(f.Key, out _);
        lock (_lock) Swap(ref _acknowledged).TrySetResult();
    }

    private List<string> Behind(long version)
    {
        var now = clock.GetUtcNow();
        return _followers.Where(f => f.Value.Applied < version && now - f.Value.SeenAt < FollowingWindow).Select(f => f.Key).ToList();
    }

    private static TaskCompletionSource Swap(ref TaskCompletionSource signal)
    {
        var old = signal;
        signal = NewSignal();
        return old;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal static partial class GatewayFeedMessages
{
    [LoggerMessage(EventId = 1070, Level = LogLevel.Warning, Message = "Gateways {Gateways} did not apply change {Version} within 2 s; they stop serving from their caches when they lose the server")]
    public static partial void NotAcknowledged(ILogger logger, long version, string gateways);
}
