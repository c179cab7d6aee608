using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Writ.Client.Http;
using Writ.Core.Crypto;
using Writ.Core.Policy;
using Writ.Server.Auth;
using Writ.Server.GatewayApi;
using Writ.Server.Hosting;
using Writ.Server.PolicyApi;

namespace Writ.Server.GatewayHost;

/// <summary>The server's token-signing public keys as the gateway last received them, by key id.</summary>
internal sealed class GatewayKeys
{
    private volatile IReadOnlyDictionary<string, ECDsa> _byKid = new Dictionary<string, ECDsa>();
    private string _jwks = "";

    public ECDsa? PublicKey(string kid) => _byKid.GetValueOrDefault(kid);

    /// <summary>Replaces the key set with the server's JWKS; a key the server dropped stops verifying at once.</summary>
    public void Apply(string jwks)
    {
        if (jwks == _jwks) return;
        using var doc = JsonDocument.Parse(jwks);
        var keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var key in doc.RootElement.GetProperty("keys").EnumerateArray())
            keys[key.GetProperty("kid").GetString()!] = EcJwk.ImportPublic(key.GetRawText());
        _byKid = keys;
        _jwks = jwks;
    }
}

/// <summary>
/// Keeps a standalone gateway in step with the server: long-polls the state feed, and on every new version loads the
/// policy (if its version changed), the signing keys and the secrets' versions, and drops every remembered token
/// liveness. The next poll names the version applied, which tells the server this gateway is up to date.
/// <para>
/// Fails closed: while the server cannot be reached, nothing is remembered between calls (every call asks the server,
/// and fails with 503 if it cannot), so a revocation made meanwhile is never missed; a poll unanswered for 12 s counts
/// as lost. A state that cannot be applied (a policy this gateway cannot load, a clock more than 30 s off the
/// server's) leaves the gateway out of step: it refuses every call (<see cref="InStep"/>) until a state applies.
/// </para>
/// </summary>
internal sealed class FeedFollower(ServerLink link, StatusView view, PolicyHolder policy, GatewayKeys keys, RemoteSecrets secrets, ServedEnvironment served,
    TimeProvider clock, ILogger<FeedFollower> logger)
    : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A poll not answered within <see cref="Poll"/> plus this counts as losing the server: a link cut without an error
    /// (a silent partition) stops the gateway trusting its caches after at most 12 s.
    /// </summary>
    private static readonly TimeSpan Lease = Poll + TimeSpan.FromSeconds(2);

    /// <summary>Token expiry and task deadlines are checked with this gateway's clock: it must agree with the server's.</summary>
    internal static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(30);

    private GatewayState? _applied;
    private volatile bool _inStep;

    /// <summary>The issuer the server names (tokens' <c>iss</c>), known after the first <see cref="SyncAsync"/>.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>Whether the last state the server sent has been applied; if not, the gateway serves nothing.</summary>
    public bool InStep => _inStep;

    /// <summary>Reads and applies the current state once; the gateway does not serve before this has succeeded.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await ApplyAsync(await link.GetStateAsync(null, Poll, ct), ct);
        FeedFollowerMessages.Following(logger, link.Server.GetLeftPart(UriPartial.Authority), policy.Current?.Version ?? 0);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var lease = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                lease.CancelAfter(Lease);
                await ApplyAsync(await link.GetStateAsync(_applied, Poll, lease.Token), lease.Token);
                if (failures > 0) FeedFollowerMessages.Reconnected(logger, link.Server.GetLeftPart(UriPartial.Authority));
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Lost the server, or it sent what cannot be applied: serve nothing, remember nothing, try again.
                _inStep = false;
                view.Enabled = false;
                if (failures++ == 0) FeedFollowerMessages.Lost(logger, link.Server.GetLeftPart(UriPartial.Authority), e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * failures)), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task ApplyAsync(GatewayState state, CancellationToken ct)
    {
        // A failure anywhere here leaves the gateway out of step (the caller's catch): nothing half-applied is served.
        var skew = clock.GetUtcNow() - state.Now;
        if (skew.Duration() > MaxClockSkew)
            throw new InvalidOperationException($"this machine's clock is {skew.TotalSeconds:0} s off the server's; token expiry would be misjudged (sync it with NTP)");
        Issuer = state.Issuer;
        served.Name = state.Environment;
        if (state.PolicyVersion is { } version && policy.Current?.Version != version)
        {
            var fetched = await link.GetPolicyAsync(ct);
            var loaded = PolicyLoader.Load(PolicyService.Split(fetched.Source));
            if (!loaded.IsValid) throw new InvalidOperationException($"policy version {fetched.Version} from the server does not load here: {loaded.Diagnostics.FirstOrDefault()}");
            policy.Set(CompiledPolicy.Compile(loaded.Policy!, fetched.Version, fetched.Sha256));
        }
        keys.Apply(state.Jwks);
        secrets.Apply(state.Secrets);
        view.Enabled = state.Cacheable; // also drops every remembered liveness
        _applied = state;
        _inStep = true;
    }
}

internal static partial class FeedFollowerMessages
{
    [LoggerMessage(EventId = 1080, Level = LogLevel.Error, Message = "Out of step with the Writ server at {Server} ({Reason}); calls are refused until it is back in step")]
    public static partial void Lost(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 1082, Level = LogLevel.Information, Message = "Following the Writ server at {Server} (policy version {PolicyVersion})")]
    public static partial void Following(ILogger logger, string server, int policyVersion);

    [LoggerMessage(EventId = 1081, Level = LogLevel.Information, Message = "Following the Writ server at {Server} again")]
    public static partial void Reconnected(ILogger logger, string server);
}
