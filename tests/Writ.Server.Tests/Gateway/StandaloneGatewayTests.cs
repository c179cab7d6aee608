using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Server.Gateway;
using Writ.Server.GatewayHost;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// <c>writ gateway</c> on its own: every test of <see cref="GatewayTests"/> runs again through a standalone gateway that
/// follows the server (its own URL in the agents' proofs, tokens verified with the server's keys, liveness and secrets
/// from the server, audit sent to the server), plus what only a standalone gateway can get wrong: revocations reaching
/// it, a lost server, its own token revoked, the gateway API refusing everyone else.
/// </summary>
public sealed class StandaloneGatewayTests : GatewayTests
{
    private const string PublicUrl = "http://gateway.test";

    private WebApplication _gateway = null!;
    private readonly FaultyLink _link = new();
    private readonly CapturedLogs _gatewayLogs = new();
    private string _gatewayToken = "";

    protected override string GatewayBase => PublicUrl;

    protected override HttpClient GatewayHttp() => _gateway.GetTestServer().CreateClient();

    protected override IEnumerable<string> GatewayLogLines => _gatewayLogs.Lines;

    protected override async Task StartGatewayAsync()
    {
        _gatewayToken = (await Writ.Admin().CreateGatewayTokenAsync("edge-1")).Token;
        _gateway = await StartReplicaAsync(_gatewayToken, "edge-1", _link.Over(Writ.Server.CreateHandler()), _gatewayLogs);
    }

    /// <summary>A gateway process on its own token, behind the same public URL, following the server.</summary>
    private async Task<WebApplication> StartReplicaAsync(string token, string name, HttpMessageHandler toServer, ILoggerProvider? logs = null)
    {
        var gateway = await WritGateway.BuildAsync(new WritGatewayOptions { Server = new Uri(WritFixture.Issuer), Token = token, PublicUrl = PublicUrl }, b =>
        {
            b.WebHost.UseTestServer();
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null) b.Logging.AddProvider(logs);
            b.Services.AddSingleton(new GatewayOptions { UpstreamTimeout = TimeSpan.FromSeconds(1) });
        }, toServer);
        await gateway.StartAsync();
        await WaitFollowingAsync(name);
        return gateway;
    }

    /// <summary>Until the gateway's long poll is registered with the server (it then holds changes up until the gateway has them).</summary>
    private async Task WaitFollowingAsync(string name)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await Writ.Admin().ListGatewaysAsync()).Any(g => g.Name == name)) return;
            await Task.Delay(25);
        }
        throw new InvalidOperationException("the gateway never followed the feed");
    }

    protected override Task SettleAuditAsync() => _gateway.Services.GetRequiredService<Writ.Server.Hosting.AuditLog>().FlushAsync(CancellationToken.None);

    protected override async Task StopGatewayAsync()
    {
        await _gateway.StopAsync();
        await _gateway.DisposeAsync();
    }

    private async Task<(TestAgent Agent, string TaskId, Credential Credential)> SessionAsync(string scope = "crm:read")
    {
        var agent = await Writ.EnrollAsync("reader@staging");
        var task = await agent.Client.StartTaskAsync("standalone gateway test", onBehalfOf: "sam@example.com");
        return (agent, task.Id, await agent.Client.GetCredentialAsync(scope, task.Id, "customers/12345"));
    }

    private async Task<HttpResponseMessage> CallAsync(TestAgent agent, Credential credential, string path = "/gw/crm/customers/12345", string? baseUrl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, (baseUrl ?? PublicUrl) + path);
        agent.Client.Authorize(request, credential);
        var response = await GatewayHttp().SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    // ---------- a proof replayed at another gateway replica (invariant 3 across processes) ----------

    /// <summary>
    /// A call through edge-1, answered, and the very same request (token and DPoP proof) for edge-2, a second replica
    /// behind the same URL, refused as a replay. Returns edge-2's answer and the task.
    /// </summary>
    private async Task<(HttpResponseMessage Replayed, string TaskId)> ReplayAtSecondReplicaAsync(HttpMethod method, string path)
    {
        var token = (await Writ.Admin().CreateGatewayTokenAsync("edge-2")).Token;
        var second = await StartReplicaAsync(token, "edge-2", Writ.Server.CreateHandler());
        try
        {
            var (agent, taskId, credential) = await SessionAsync();
            using var first = new HttpRequestMessage(method, PublicUrl + path) { Content = method == HttpMethod.Post ? new StringContent("q") : null };
            agent.Client.Authorize(first, credential);
            using var replay = Replay(first, method == HttpMethod.Post ? new StringContent("q") : null);

            var answered = await GatewayHttp().SendAsync(first);
            await answered.Content.LoadIntoBufferAsync();
            var refused = await second.GetTestServer().CreateClient().SendAsync(replay);
            await refused.Content.LoadIntoBufferAsync();
            await second.Services.GetRequiredService<Writ.Server.Hosting.AuditLog>().FlushAsync(CancellationToken.None);

            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("dpop.replayed", await CodeAsync(refused));
            return (refused, taskId);
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task ProofReplayedAtAnotherReplica_Write_IsRefusedBeforeItIsSent_AndAuditedAsDeny()
    {
        var (_, taskId) = await ReplayAtSecondReplicaAsync(HttpMethod.Post, "/gw/crm/customers/12345/search");

        Assert.Single(Upstream.Received); // the replay never left edge-2
        var audit = await Writ.Admin().SearchAuditAsync(task: taskId);
        var denied = Assert.Single(audit, a => a.Action == "gateway.call" && a.Decision == "deny");
        Assert.Equal("dpop.replayed", denied.Reason);
        Assert.Contains("gateway:edge-2", denied.Details);
        Assert.Single(audit, a => a.Action == "gateway.call" && a.Decision == "allow" && a.Details!.Contains("gateway:edge-1"));
    }

    [Fact]
    public async Task ProofReplayedAtAnotherReplica_Read_GetsNoAnswer()
    {
        var (replayed, taskId) = await ReplayAtSecondReplicaAsync(HttpMethod.Get, "/gw/crm/customers/12345");

        // A read is sent while its decision commits (it changes nothing); what came back is dropped, not relayed.
        Assert.DoesNotContain("\"ok\":true", await replayed.Content.ReadAsStringAsync());
        Assert.Contains(await Writ.Admin().SearchAuditAsync(task: taskId), a => a.Action == "gateway.call" && a.Decision == "deny" && a.Reason == "dpop.replayed");
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return null;
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
    }

    [Fact]
    public async Task TaskCompleted_IsRefusedOnTheVeryNextCall()
    {
        var (agent, taskId, credential) = await SessionAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(agent, credential)).StatusCode); // liveness now remembered by the gateway

        await agent.Client.CompleteTaskAsync(taskId);
        var refused = await CallAsync(agent, credential);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains(await CodeAsync(refused), new[] { "token.revoked", "token.task_closed" }); // completing a task revokes its credentials
        Assert.Single(Upstream.Received);
    }

    [Fact]
    public async Task CredentialRevoked_OrAgentSuspended_IsRefusedOnTheVeryNextCall()
    {
        var (agent, taskId, credential) = await SessionAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(agent, credential)).StatusCode);
        await Writ.Admin().RevokeCredentialAsync((await Writ.Admin().GetAgentAsync("reader@staging")).ActiveCredentials.Single().Jti);
        Assert.Equal("token.revoked", await CodeAsync(await CallAsync(agent, credential)));

        var next = await agent.Client.StartTaskAsync("after the revocation");
        var fresh = await agent.Client.GetCredentialAsync("crm:read", next.Id, "customers/12345");
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(agent, fresh)).StatusCode);
        await Writ.Admin().SuspendAgentAsync("reader@staging");
        Assert.Contains(await CodeAsync(await CallAsync(agent, fresh)), new[] { "token.revoked", "token.agent_inactive" }); // suspending revokes too
    }

    [Fact]
    public async Task ProofForTheServersUrl_IsRefusedByTheGateway()
    {
        // The agent's proof names the server's /gw/ URL; presented to the standalone gateway it is for another URL (htu).
        var (agent, _, credential) = await SessionAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, WritFixture.Issuer + "/gw/crm/customers/12345");
        agent.Client.Authorize(request, credential);
        request.RequestUri = new Uri(PublicUrl + "/gw/crm/customers/12345");
        var response = await GatewayHttp().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("dpop.", await CodeAsync(response));
        Assert.Empty(Upstream.Received);
    }

    [Fact]
    public async Task SecretRotated_TheNextCallInjectsTheNewValue_AndEachReadIsAudited()
    {
        var (agent, _, credential) = await SessionAsync();
        await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");
        await Writ.Admin().RotateSecretAsync("crm-staging", "sk_staging_ROTATED_PLANTED_5510");
        await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");

        Assert.Equal("Bearer sk_staging_ROTATED_PLANTED_5510", Upstream.Received.Last().Header("Authorization"));
        var reads = (await Writ.Admin().SearchAuditAsync(action: "secret.read", limit: 50)).Where(e => e.Target == "crm-staging").ToList();
        Assert.Equal(2, reads.Count);
        Assert.All(reads, e => Assert.Equal(("system", "gateway:edge-1"), (e.ActorKind, e.ActorId)));
    }

    private async Task ApplyPolicyWithoutTheEchoAuthRouteAsync()
    {
        var policy = await Writ.Admin().GetPolicyAsync();
        var narrowed = string.Join('\n', policy.Source.Split('\n').Where(line => !line.Contains("/echo-auth", StringComparison.Ordinal)));
        Assert.NotEqual(policy.Source, narrowed);
        await Writ.Admin().ApplyPolicyAsync([new PolicyFile("policy.yaml", narrowed)]);
    }

    [Fact]
    public async Task PolicyApplied_TheGatewayEnforcesTheNewVersionOnTheNextCall()
    {
        var (agent, _, credential) = await SessionAsync();
        await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");
        Assert.Single(Upstream.Received); // forwarded (the upstream's own answer does not matter here)
        await ApplyPolicyWithoutTheEchoAuthRouteAsync();

        var refused = await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");
        Assert.Equal("gateway.route_not_mapped", await CodeAsync(refused));
        Assert.Single(Upstream.Received);
    }

    [Fact]
    public async Task PolicyTheGatewayCannotLoad_LeavesItOutOfStep_RefusingEveryCall_UntilItLoads()
    {
        var (agent, _, credential) = await SessionAsync();
        await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");
        Assert.Single(Upstream.Received);

        _link.Fault = r => r.RequestUri!.AbsolutePath == "/api/gateway/policy" ? new HttpResponseMessage(HttpStatusCode.InternalServerError) : null;
        await ApplyPolicyWithoutTheEchoAuthRouteAsync();

        // The old version must not be served: the route the new one removed, and every other route, are refused.
        foreach (var path in new[] { "/gw/crm/customers/12345/echo-auth", "/gw/crm/customers/12345" })
        {
            var refused = await CallAsync(agent, credential, path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("gateway.out_of_step", await CodeAsync(refused));
        }
        Assert.Single(Upstream.Received);

        _link.Fault = null;
        HttpResponseMessage? after = null;
        for (var i = 0; i < 100 && (after is null || after.StatusCode == HttpStatusCode.ServiceUnavailable); i++)
        {
            await Task.Delay(100);
            after = await CallAsync(agent, credential, "/gw/crm/customers/12345/echo-auth");
        }
        Assert.Equal("gateway.route_not_mapped", await CodeAsync(after!));
    }

    [Fact]
    public async Task LinkCutSilently_TheGatewayStopsServing_WithinTheLease_AndResumesWhenItIsBack()
    {
        var (agent, _, credential) = await SessionAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(agent, credential)).StatusCode);

        // The feed goes silent (no error, no answer); liveness and audit still get through, so only the lease can tell.
        _link.Hang = r => r.RequestUri!.AbsolutePath == "/api/gateway/state";
        var other = await Writ.EnrollAsync("writer@staging");
        await other.Client.CompleteTaskAsync((await other.Client.StartTaskAsync("ends the poll in flight")).Id);

        // The lease is 12 s; without it the gateway would go on serving from its caches until the HTTP timeout (70 s).
        await WaitForAsync(HttpStatusCode.ServiceUnavailable, agent, credential, TimeSpan.FromSeconds(30));

        _link.Hang = null;
        await WaitForAsync(HttpStatusCode.OK, agent, credential, TimeSpan.FromSeconds(30));
    }

    private async Task WaitForAsync(HttpStatusCode status, TestAgent agent, Credential credential, TimeSpan limit)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (started.Elapsed < limit)
        {
            var response = await CallAsync(agent, credential);
            if (response.StatusCode == status) return;
            await Task.Delay(250);
        }
        throw new InvalidOperationException($"no {status} within {limit.TotalSeconds:0} s");
    }

    [Fact]
    public async Task TheSameTaskCompletedTwice_AnnouncesOneChange()
    {
        var (agent, taskId, _) = await SessionAsync();
        var feed = Writ.Service<Writ.Server.GatewayApi.GatewayFeed>();
        await agent.Client.CompleteTaskAsync(taskId);
        var version = feed.Version;
        try
        {
            await agent.Client.CompleteTaskAsync(taskId);
        }
        catch (WritApiException)
        {
            // Completing a closed task may be refused; either way nothing changed.
        }
        Assert.Equal(version, feed.Version);
    }

    [Fact]
    public async Task GatewayStart_WithAClockOffTheServers_SaysToSyncIt()
    {
        var e = await Assert.ThrowsAsync<GatewayStartupException>(() => WritGateway.BuildAsync(
            new WritGatewayOptions { Server = new Uri(WritFixture.Issuer), Token = _gatewayToken, PublicUrl = PublicUrl }, b =>
            {
                b.WebHost.UseTestServer();
                b.Services.AddSingleton<TimeProvider>(new SkewedClock(TimeSpan.FromMinutes(3)));
            }, Writ.Server.CreateHandler()));
        Assert.Contains("clock", e.Message);
    }

    private sealed class SkewedClock(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
    }

    /// <summary>The gateway's link to the server, with a fault that can be switched on for some requests.</summary>
    private sealed class FaultyLink
    {
        public Func<HttpRequestMessage, HttpResponseMessage?>? Fault { get; set; }

        /// <summary>Requests this matches never get an answer (a link cut without an error).</summary>
        public Func<HttpRequestMessage, bool>? Hang { get; set; }

        public HttpMessageHandler Over(HttpMessageHandler inner) => new Handler(this) { InnerHandler = inner };

        private sealed class Handler(FaultyLink link) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (link.Hang?.Invoke(request) == true)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                return link.Fault?.Invoke(request) is { } faulted ? faulted : await base.SendAsync(request, cancellationToken);
            }
        }
    }

    [Fact]
    public async Task Calls_AreAuditedOnTheServer_NamingTheGateway()
    {
        var (agent, taskId, credential) = await SessionAsync();
        await CallAsync(agent, credential);
        await SettleAuditAsync();

        var entries = (await Writ.Admin().SearchAuditAsync(resource: "crm", limit: 50)).Where(e => e.TaskId == taskId && e.Action.StartsWith("gateway.", StringComparison.Ordinal)).ToList();
        Assert.Contains(entries, e => e.Action == "gateway.call" && e.Decision == "allow");
        Assert.Contains(entries, e => e.Action == "gateway.result");
        Assert.All(entries, e => Assert.Contains("\"via\":\"gateway:edge-1\"", e.Details));
        Assert.All(entries, e => Assert.Contains("\"received_at\":\"", e.Details));
        Assert.True((await Writ.Admin().VerifyAuditAsync()).Ok);
    }

    [Fact]
    public async Task GatewayTokenRevoked_CallsFailClosedWith503()
    {
        var (agent, _, credential) = await SessionAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(agent, credential)).StatusCode);

        // The gateway's token revoked: to the gateway the server is gone (every request refused); nothing remembered may be served.
        await Writ.Admin().RevokeGatewayTokensAsync("edge-1");
        var refused = await CallAsync(agent, credential);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains(await CodeAsync(refused), new[] { "gateway.server_unavailable", "audit.unavailable", "gateway.out_of_step" });
        // A read may have been sent while its audit record was being committed; its answer is dropped when the commit fails.
        Assert.DoesNotContain("\"ok\":true", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GatewayForOneEnvironment_RefusesAnotherEnvironmentsTokens_AndCannotReadItsSecrets()
    {
        var minted = await Writ.Admin().CreateGatewayTokenAsync("edge-staging", "staging");
        Assert.Equal("edge-staging@staging", minted.Name);
        await using var staging = await WritGateway.BuildAsync(new WritGatewayOptions { Server = new Uri(WritFixture.Issuer), Token = minted.Token, PublicUrl = PublicUrl },
            b =>
            {
                b.WebHost.UseTestServer();
                b.Services.AddSingleton(new GatewayOptions { UpstreamTimeout = TimeSpan.FromSeconds(1) });
            }, Writ.Server.CreateHandler());
        await staging.StartAsync();
        var http = staging.GetTestServer().CreateClient();

        async Task<HttpResponseMessage> CallStagingGatewayAsync(string agentId)
        {
            var agent = await Writ.EnrollAsync(agentId);
            var task = await agent.Client.StartTaskAsync("one environment");
            var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/12345");
            using var request = new HttpRequestMessage(HttpMethod.Get, PublicUrl + "/gw/crm/customers/12345");
            agent.Client.Authorize(request, credential);
            return await http.SendAsync(request);
        }

        var production = await CallStagingGatewayAsync("reader@production");
        Assert.Equal(HttpStatusCode.Forbidden, production.StatusCode);
        Assert.Equal("gateway.environment_not_served", await CodeAsync(production));
        Assert.Empty(Upstream.Received);
        Assert.Equal(HttpStatusCode.OK, (await CallStagingGatewayAsync("reader@staging")).StatusCode);

        // What the gateway could ask the server for directly: the other environment's secrets and agents are refused.
        async Task<HttpResponseMessage> AskAsync(string path, string? json = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, WritFixture.Issuer + path)
            {
                Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", minted.Token);
            return await Writ.Http().SendAsync(request);
        }
        var secret = await AskAsync("/api/gateway/secrets/crm-production");
        Assert.Equal(HttpStatusCode.Forbidden, secret.StatusCode);
        Assert.DoesNotContain("sk_production", await secret.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await AskAsync("/api/gateway/secrets/crm-staging")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await AskAsync("/api/gateway/liveness", """{"jti":"j","task_id":"t","agent_id":"reader@production"}""")).StatusCode);
        var refusals = await Writ.Admin().SearchAuditAsync(action: "secret.read", decision: "deny", limit: 10);
        Assert.Contains(refusals, e => e.ActorId == "gateway:edge-staging@staging" && e.Target == "crm-production" && e.Reason == "gateway.secret_out_of_scope");
    }

    // ---------- the gateway API itself ----------

    public static TheoryData<string, string?> NotAGatewayCredential => new()
    {
        { "missing", null },
        { "admin token", "ADMIN" },
        { "a made-up gateway token", "Bearer writ_gateway_made_up_0000000000000000000000000" },
        { "an agent's JWT", "DPoP eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" },
    };

    [Theory]
    [MemberData(nameof(NotAGatewayCredential))]
    public async Task GatewayApi_RefusesAnythingButAGatewayToken(string what, string? authorization)
    {
        _ = what;
        var http = Writ.Http();
        foreach (var (method, path) in new[] { ("GET", "api/gateway/state"), ("GET", "api/gateway/policy"), ("POST", "api/gateway/secrets/crm-staging"), ("POST", "api/gateway/liveness"), ("POST", "api/gateway/audit") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), WritFixture.Issuer + "/" + path);
            if (authorization == "ADMIN") request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Writ.AdminToken);
            else if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            var response = await http.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"{method} {path}: {response.StatusCode}");
            Assert.DoesNotContain("sk_staging", await response.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [InlineData("""{"name":"Edge 1"}""", "gateway.invalid_name")]
    [InlineData("""{"name":"edge-9","environment":"moon"}""", "gateway.unknown_environment")]
    [InlineData("""{"name":""", "request.invalid_json")]
    public async Task GatewayTokenCreate_BadInput_IsRefusedWithACode_AndMintsNothing(string body, string code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WritFixture.Issuer + "/api/gateway-tokens") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Writ.AdminToken);
        var response = await Writ.Http().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, await CodeAsync(response));
        Assert.DoesNotContain("writ_gateway_", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("no-such-gateway", 404, "gateway.not_found")]
    [InlineData("Not A Name", 400, "gateway.invalid_name")]
    public async Task GatewayTokenRevoke_UnknownOrMalformedName_SaysSo(string name, int status, string code)
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => Writ.Admin().RevokeGatewayTokensAsync(name));
        Assert.Equal((status, code), (e.Status, e.Code));
    }

    [Theory]
    [InlineData("/api/gateway/state?after=x", "gateway.bad_version")]
    [InlineData("/api/gateway/state?after=1", "gateway.bad_instance")]
    [InlineData("/api/gateway/state?after=1&instance=a/b", "gateway.bad_instance")]
    [InlineData("/api/gateway/state?after=1&instance=a&wait=999", "gateway.bad_wait")]
    [InlineData("/api/gateway/state?wait=-1", "gateway.bad_wait")]
    public async Task GatewayState_BadQuery_Is400WithACode(string pathAndQuery, string code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, WritFixture.Issuer + pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gatewayToken);
        var response = await Writ.Http().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, await CodeAsync(response));
    }

    [Theory]
    [InlineData("""{"jti":"j","task_id":"t"}""", "request.invalid")]
    [InlineData("""{"jti":"j","task_id":"t","agent_id":"not an agent"}""", "request.invalid")]
    [InlineData("""[1,2""", "request.invalid_json")]
    public async Task GatewayLiveness_BadBody_Is400WithACode(string body, string code)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WritFixture.Issuer + "/api/gateway/liveness") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gatewayToken);
        var response = await Writ.Http().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, await CodeAsync(response));
    }

    [Fact]
    public async Task GatewayToken_OpensNoHumanEndpoint()
    {
        var admin = new WritAdminClient(Writ.Http(), new Uri(WritFixture.Issuer + "/"), _gatewayToken);
        var e = await Assert.ThrowsAsync<WritApiException>(() => admin.ListSecretsAsync());
        Assert.Equal(401, e.Status);
    }

    public static TheoryData<string, string> ForgedAuditEvents => new()
    {
        { "an approval in a human's name", """{"events":[{"at":"@NOW@","actor_kind":"human","actor_id":"dana","action":"approval.approve","decision":"info","duration_micros":0}]}""" },
        { "a policy apply", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"policy.apply","decision":"info","duration_micros":0}]}""" },
        { "a gateway call by a human", """{"events":[{"at":"@NOW@","actor_kind":"human","actor_id":"dana","action":"gateway.call","decision":"allow","duration_micros":0}]}""" },
        { "an event dated last year", """{"events":[{"at":"2025-01-01T00:00:00Z","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0}]}""" },
        { "details that are not an object", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0,"details":"[1]"}]}""" },
        { "details with a second via", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0,"details":"{\"via\":\"gateway:other\",\"via\":\"x\"}"}]}""" },
        { "details with a key that is not Unicode", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0,"details":"{\"\\udc00\":1}"}]}""" },
        { "an actor id of 300 characters", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"@LONG@","action":"gateway.call","decision":"allow","duration_micros":0}]}""" },
        { "a proof on an outcome record", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.result","decision":"info","duration_micros":0}],"proofs":[{"jkt":"abc","jti":"j1","issued_at":"@NOW@"}]}""" },
        { "a proof without a jti", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0}],"proofs":[{"jkt":"abc","issued_at":"@NOW@"}]}""" },
        { "a proof from last year", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0}],"proofs":[{"jkt":"abc","jti":"j1","issued_at":"2025-01-01T00:00:00Z"}]}""" },
        { "fewer proofs than events", """{"events":[{"at":"@NOW@","actor_kind":"ai-agent","actor_id":"x@staging","action":"gateway.call","decision":"allow","duration_micros":0}],"proofs":[]}""" },
        { "no events", """{"events":[]}""" },
        { "not JSON", """{"events":[""" },
    };

    [Theory]
    [MemberData(nameof(ForgedAuditEvents))]
    public async Task GatewayApi_Audit_TakesOnlyTheGatewaysOwnRecords(string what, string body)
    {
        _ = what;
        var before = (await Writ.Admin().VerifyAuditAsync()).Records;
        using var request = new HttpRequestMessage(HttpMethod.Post, WritFixture.Issuer + "/api/gateway/audit")
        {
            Content = new StringContent(body.Replace("@NOW@", DateTimeOffset.UtcNow.ToString("O"), StringComparison.Ordinal)
                .Replace("@LONG@", new string('a', 300), StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _gatewayToken);
        var response = await Writ.Http().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, (await Writ.Admin().VerifyAuditAsync()).Records);
    }

    [Fact]
    public async Task GatewayStart_WithARevokedToken_SaysWhatToFix()
    {
        var token = (await Writ.Admin().CreateGatewayTokenAsync("edge-2")).Token;
        await Writ.Admin().RevokeGatewayTokensAsync("edge-2");

        var e = await Assert.ThrowsAsync<GatewayStartupException>(() => WritGateway.BuildAsync(
            new WritGatewayOptions { Server = new Uri(WritFixture.Issuer), Token = token, PublicUrl = PublicUrl }, b => b.WebHost.UseTestServer(), Writ.Server.CreateHandler()));
        Assert.Contains("gateway-token create", e.Message);
    }

    [Theory]
    [InlineData("http://writ.example.com", "writ_gateway_x", "http://127.0.0.1:0", "must be https")]
    [InlineData("http://127.0.0.1:8430", "writ_admin_x", "http://127.0.0.1:0", "starts with writ_gateway_")]
    [InlineData("http://127.0.0.1:8430", "writ_gateway_x", "bogus", "--urls 'bogus' is not an http(s) URL")]
    [InlineData("http://127.0.0.1:8430", "writ_gateway_x", "ftp://127.0.0.1:21", "--urls 'ftp://127.0.0.1:21' is not an http(s) URL")]
    public async Task GatewayStart_RefusesAPlainHttpServerAWrongTokenOrBadUrls(string server, string token, string urls, string message)
    {
        var e = await Assert.ThrowsAsync<GatewayStartupException>(() => WritGateway.BuildAsync(new WritGatewayOptions { Server = new Uri(server), Token = token, Urls = urls }));
        Assert.Contains(message, e.Message);
    }
}
