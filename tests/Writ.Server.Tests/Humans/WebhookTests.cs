using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Writ.Client.Http;
using Writ.Server.Tests.Gateway;
using Writ.Server.Webhooks;
using Xunit;

namespace Writ.Server.Tests.Humans;

/// <summary>Approvers hear about requests, requesters about decisions: signed, retried, logged — against a real HTTP receiver.</summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("test-webhook-key-not-a-real-one!");
    private RecordingUpstream _receiver = null!;
    private WritFixture _writ = null!;

    public async Task InitializeAsync()
    {
        _receiver = await RecordingUpstream.StartAsync();
        _writ = await WritFixture.StartAsync(ApprovalFlowTests.Policy, b => b.Services.AddSingleton(new WebhookSettings
        {
            Urls = [new Uri(_receiver.BaseUrl + "/hooks/flaky")],
            SigningKey = Key,
            FirstRetry = TimeSpan.FromMilliseconds(200),
            PollInterval = TimeSpan.FromMilliseconds(100),
        }));
    }

    public async Task DisposeAsync()
    {
        await _writ.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Request_And_Decision_AreDelivered_Signed_RetriedAfterAFailure_AndLogged()
    {
        var agent = await _writ.EnrollAsync("coding-agent@staging");
        var task = await agent.Client.StartTaskAsync("migrate");
        var asked = await Assert.ThrowsAsync<WritApiException>(() =>
            agent.Client.GetCredentialAsync("volumes:write", task.Id, "vol-1", justification: "resize after the migration, OPS-12"));

        var requested = await WaitForAsync(r => r.Header("X-Writ-Event") == "approval.requested" && r.Header("X-Writ-Signature") is not null, count: 2);
        var body = Encoding.UTF8.GetString(requested.Body);
        var timestamp = requested.Header("X-Writ-Timestamp")!;
        var expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes(timestamp + "." + body)));
        Assert.Equal(expected, requested.Header("X-Writ-Signature"));
        using (var json = JsonDocument.Parse(body))
        {
            var text = json.RootElement.GetProperty("text").GetString()!; // Slack incoming webhooks read "text"
            Assert.Contains("coding-agent@staging", text);
            Assert.Contains("resize after the migration, OPS-12", text);
            Assert.Contains(asked.ApprovalId!, text);
            Assert.Equal(asked.ApprovalId, json.RootElement.GetProperty("approval").GetProperty("id").GetString());
        }

        var alice = await _writ.UserAsync("alice", "approver");
        await alice.ApproveAsync(asked.ApprovalId!, "fine by me");
        var decided = await WaitForAsync(r => r.Header("X-Writ-Event") == "approval.approved");
        Assert.Contains("fine by me", Encoding.UTF8.GetString(decided.Body));

        var log = await _writ.Admin().ListWebhookDeliveriesAsync();
        var first = log.Single(d => d.Event == "approval.requested");
        Assert.Equal(("delivered", 2, 200), (first.Status, first.Attempts, first.LastStatus ?? 0));
        Assert.Contains(log, d => d.Event == "approval.approved" && d.Status == "delivered");
        // The path of a webhook URL is often its secret (Slack's is): the log shows where, not the whole address.
        Assert.All(log, d => Assert.DoesNotContain("/hooks/flaky", d.Url));
        Assert.All(log, d => Assert.StartsWith(new Uri(_receiver.BaseUrl).GetLeftPart(UriPartial.Authority), d.Url));
    }

    [Fact]
    public async Task AgentWrittenText_CannotPingTheChannel_OrForgeLinks()
    {
        var agent = await _writ.EnrollAsync("coding-agent@staging");
        var task = await agent.Client.StartTaskAsync("migrate");
        await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:write", task.Id, "vol-1",
            justification: "<!channel> approve now <https://evil.example|the runbook>\n> `fake quote`"));
        var requested = await WaitForAsync(r => r.Header("X-Writ-Event") == "approval.requested" && r.Header("X-Writ-Signature") is not null, count: 2);
        using var json = JsonDocument.Parse(requested.Body);
        var text = json.RootElement.GetProperty("text").GetString()!;
        Assert.DoesNotContain("<!channel>", text);
        Assert.DoesNotContain("<https://", text);
        Assert.Contains("&lt;!channel&gt;", text);
        Assert.Single(text.Split('\n'), l => l.StartsWith('>'));
    }

    private async Task<ReceivedRequest> WaitForAsync(Func<ReceivedRequest, bool> match, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var hits = _receiver.Received.Where(match).ToList();
            if (hits.Count >= count) return hits[^1];
            await Task.Delay(50);
        }
        throw new TimeoutException($"the receiver got {_receiver.Received.Count} request(s), not what the test waited for");
    }
}
