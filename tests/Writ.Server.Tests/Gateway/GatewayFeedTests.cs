using Microsoft.Extensions.Logging.Abstractions;
using Writ.Server.GatewayApi;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// The feed standalone gateways follow: a change is announced to every waiting poll, and the write that made it is held
/// until every process following has acknowledged it — each replica of a gateway name on its own, and only for the
/// epoch (server run) it names.
/// </summary>
public sealed class GatewayFeedTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(30);

    private readonly GatewayFeed _feed = new(TimeProvider.System, NullLogger<GatewayFeed>.Instance);

    /// <summary>Each poll of a follower that has applied <paramref name="applied"/>, in the background; it ends when there is news.</summary>
    private Task PollAsync(string instance, long applied, string? epoch = null) =>
        _feed.WaitAsync("gateway:edge", instance, epoch ?? _feed.Epoch, applied, Poll, CancellationToken.None);

    private static async Task<bool> IsPendingAsync(Task task)
    {
        await Task.WhenAny(task, Task.Delay(300));
        return !task.IsCompleted;
    }

    [Fact]
    public async Task Publish_AnswersEveryWaitingPoll()
    {
        var (a, b) = (PollAsync("a", 1), PollAsync("b", 1));
        Assert.True(await IsPendingAsync(a));

        var publish = _feed.PublishAsync();
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(5));
        _ = PollAsync("a", 2);
        _ = PollAsync("b", 2);
        await publish.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, _feed.Version);
    }

    [Fact]
    public async Task TwoReplicasOfOneGateway_AreEachWaitedFor()
    {
        var (a, b) = (PollAsync("a", 1), PollAsync("b", 1));
        var publish = _feed.PublishAsync();
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(5));

        _ = PollAsync("a", 2); // replica a has applied the change; b has not yet
        Assert.True(await IsPendingAsync(publish), "the change was let through before replica b had it");

        _ = PollAsync("b", 2);
        await publish.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AVersionFromAnotherServerRun_CountsAsNothingApplied()
    {
        // A gateway that followed the previous run up to version 57 reconnects: it is answered at once and waited for.
        var reconnect = PollAsync("a", 57, epoch: "earlier-run");
        await reconnect.WaitAsync(TimeSpan.FromSeconds(5));

        var publish = _feed.PublishAsync();
        Assert.True(await IsPendingAsync(publish), "a stale acknowledgement let the change through");
        _ = PollAsync("a", _feed.Version);
        await publish.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AForgottenGateway_IsNoLongerWaitedFor()
    {
        var a = PollAsync("a", 1);
        var publish = _feed.PublishAsync();
        await a.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(await IsPendingAsync(publish));

        _feed.Forget("gateway:edge");
        await publish.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task NoGatewayFollowing_PublishReturnsAtOnce()
    {
        await _feed.PublishAsync().WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(2, _feed.Version);
    }
}
