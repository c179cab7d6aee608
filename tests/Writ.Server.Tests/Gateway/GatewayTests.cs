using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Writ.Client.Http;
using Writ.Server.Gateway;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// The HTTP tool gateway against a real upstream that records what it receives: the agent never sees the upstream
/// secret, environments stay apart, unmapped routes and path tricks go nowhere, restrictions hold, every call is audited.
/// </summary>
public class GatewayTests : IAsyncLifetime
{
    private const string StagingSecret = "sk_staging_PLANTED_9d2f71c0a4";
    private const string ProductionSecret = "sk_production_PLANTED_44be01";
    private const string BillingSecret = "bi/ll+ing&PLANTED<77>";

    private RecordingUpstream _upstream = null!;
    private WritFixture _writ = null!;

    /// <summary>The gateway's base URL (agents' proofs name it): the server's own /gw/ here; a standalone gateway in a subclass.</summary>
    protected virtual string GatewayBase => WritFixture.Issuer;

    protected WritFixture Writ => _writ;

    protected RecordingUpstream Upstream => _upstream;

    /// <summary>A client that reaches the gateway.</summary>
    protected virtual HttpClient GatewayHttp() => _writ.Http();

    /// <summary>Runs after the server is up and the secrets are stored: a subclass starts its standalone gateway here.</summary>
    protected virtual Task StartGatewayAsync() => Task.CompletedTask;

    /// <summary>Makes every audit record the gateway has queued (deferred outcomes) reach the server's log.</summary>
    protected virtual Task SettleAuditAsync() => Task.CompletedTask;

    protected virtual Task StopGatewayAsync() => Task.CompletedTask;

    /// <summary>What a standalone gateway logged (the server's own logs are checked anyway).</summary>
    protected virtual IEnumerable<string> GatewayLogLines => [];

    private async Task<IReadOnlyList<Writ.Client.Contracts.AuditEntry>> AuditOfAsync(string resource)
    {
        await SettleAuditAsync();
        return await _writ.Admin().SearchAuditAsync(resource: resource, limit: 50);
    }

    private static string Policy(string upstream) => $$"""
        environments: { staging: {}, production: {} }
        resources:
          crm:
            actions: [read, write, delete]
            environments:
              staging:
                upstream: {{upstream}}/staging/
                credential: { secret: crm-staging, inject: { header: Authorization, template: "Bearer {secret}" } }
                routes:
                  - { method: GET, path: "/customers/{account}", action: read }
                  - { method: HEAD, path: "/customers/{account}", action: read }
                  - { method: POST, path: "/customers/{account}/search", action: read }
                  - { method: POST, path: "/customers/{account}/notes", action: write }
                  - { method: DELETE, path: "/customers/{account}/cache", action: read }
                  - { method: GET, path: "/customers/export", action: read, bulk: true }
                  - { method: GET, path: "/customers/{account}/echo-auth", action: read }
                  - { method: GET, path: "/customers/{account}/echo-encoded", action: read }
                  - { method: GET, path: "/customers/{account}/slow", action: read }
                  - { method: GET, path: "/customers/{account}/broken", action: read }
                  - { method: GET, path: "/customers/{account}/redirect", action: read }
                  - { method: GET, path: "/customers/{account}/big", action: read }
                  - { method: GET, path: "/customers/{account}/compressed", action: read }
                limits: { max_body_bytes: 1024 }
                account: { path_param: account }
              production:
                upstream: {{upstream}}/production/
                credential: { secret: crm-production, inject: { header: Authorization, template: "Bearer {secret}" } }
                routes:
                  - { method: GET, path: "/customers/{account}", action: read }
                account: { path_param: account }
          billing:
            actions: [read]
            environments:
              staging:
                upstream: {{upstream}}/billing/
                credential: { secret: billing-staging, inject: { basic: { username: svc-writ } } }
                routes:
                  - { method: GET, path: "/echo-basic", action: read }
              production: {}
          ledger:
            actions: [read]
            environments:
              staging:
                upstream: {{upstream}}/ledger/
                credential: { secret: crm-staging, inject: { query: api_key } }
                routes:
                  - { method: GET, path: "/entries", action: read }
                account: { query: account }
              production: {}
          down:
            actions: [read]
            environments:
              staging:
                upstream: http://127.0.0.1:1/
                routes:
                  - { method: GET, path: "/**", action: read }
                account: { query: account }
              production:
                upstream: http://127.0.0.1:1/
        roles:
          crm-reader:
            permissions: { crm: [read], down: [read], ledger: [read] }
            restrictions: [no-delete, no-bulk, no-cross-account]
          crm-writer:
            permissions: { crm: [read, write], billing: [read] }
            preapproved: { crm: [write] }
        agents:
          reader@staging: { kind: ai-agent, owner: sam@example.com, roles: [crm-reader] }
          reader@production: { kind: ai-agent, owner: sam@example.com, roles: [crm-reader] }
          writer@staging: { kind: ai-agent, owner: dana@example.com, roles: [crm-writer] }
        """;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _writ = await WritFixture.StartAsync(Policy(_upstream.BaseUrl),
            b => b.Services.AddSingleton(new GatewayOptions { UpstreamTimeout = TimeSpan.FromSeconds(1) }));
        await _writ.Admin().PutSecretAsync("crm-staging", StagingSecret);
        await _writ.Admin().PutSecretAsync("crm-production", ProductionSecret);
        await _writ.Admin().PutSecretAsync("billing-staging", BillingSecret);
        await StartGatewayAsync();
    }

    public async Task DisposeAsync()
    {
        await StopGatewayAsync();
        await _writ.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private sealed record Session(TestAgent Agent, string TaskId, Credential Credential);

    private async Task<Session> StartAsync(string agentId = "reader@staging", string scope = "crm:read", string? target = "customers/12345")
    {
        var agent = await _writ.EnrollAsync(agentId);
        var task = await agent.Client.StartTaskAsync("gateway test", onBehalfOf: "sam@example.com");
        var credential = await agent.Client.GetCredentialAsync(scope, task.Id, target);
        return new Session(agent, task.Id, credential);
    }

    private HttpRequestMessage Request(HttpMethod method, string pathAndQuery, HttpContent? content = null) =>
        new(method, new Uri(GatewayBase + pathAndQuery)) { Content = content };

    private async Task<HttpResponseMessage> CallAsync(Session s, HttpMethod method, string pathAndQuery, HttpContent? content = null, Action<HttpRequestMessage>? edit = null)
    {
        using var request = Request(method, pathAndQuery, content);
        s.Agent.Client.Authorize(request, s.Credential);
        edit?.Invoke(request);
        var response = await GatewayHttp().SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>The same request again: the same token and the very same DPoP proof (a replay).</summary>
    protected static HttpRequestMessage Replay(HttpRequestMessage first, HttpContent? content = null)
    {
        var replay = new HttpRequestMessage(first.Method, first.RequestUri) { Content = content };
        replay.Headers.Authorization = first.Headers.Authorization;
        replay.Headers.Add("DPoP", first.Headers.GetValues("DPoP"));
        return replay;
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") return null;
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response, int status, string code)
    {
        Assert.Equal(code, await CodeAsync(response));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Empty(_upstream.Received);
    }

    // ---------- the happy path ----------

    [Fact]
    public async Task Call_WithANonAsciiRequestHeader_IsRefusedAsABadHeader_NotBlamedOnTheUpstream()
    {
        var s = await StartAsync();

        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345", edit: r => r.Headers.TryAddWithoutValidation("X-Note", "résumé"));

        await AssertRefusedAsync(response, 400, "gateway.bad_header");
        Assert.Contains("X-Note", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Call_MappedRoute_ForwardsWithInjectedCredentialAndNoAgentCredentials()
    {
        var s = await StartAsync();

        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345?fields=name", edit: r =>
        {
            r.Headers.Add("Cookie", "agent-cookie=1");
            r.Headers.Add("X-Request-Id", "abc");
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"ok\":true", await response.Content.ReadAsStringAsync());
        var got = Assert.Single(_upstream.Received);
        Assert.Equal("/staging/customers/12345?fields=name", got.RawTarget);
        Assert.Equal("Bearer " + StagingSecret, got.Header("Authorization"));
        Assert.Null(got.Header("DPoP"));
        Assert.Null(got.Header("Cookie"));
        Assert.Equal("abc", got.Header("X-Request-Id"));
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.False(response.Headers.Contains("Keep-Alive"));
    }

    [Fact]
    public async Task Call_PostBody_IsStreamedToUpstreamIntact()
    {
        var s = await StartAsync();
        var body = new string('x', 700);

        var response = await CallAsync(s, HttpMethod.Post, "/gw/crm/customers/12345/search", new StringContent(body, Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var got = Assert.Single(_upstream.Received);
        Assert.Equal(body, Encoding.UTF8.GetString(got.Body));
        Assert.Equal("text/plain; charset=utf-8", got.Header("Content-Type"));
    }

    [Fact]
    public async Task Call_Head_ForwardsWithoutBodyAndKeepsLength()
    {
        var s = await StartAsync();
        var head = await CallAsync(s, HttpMethod.Head, "/gw/crm/customers/12345");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("HEAD", Assert.Single(_upstream.Received).Method);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        // The length the upstream declared for the body it did not send.
        Assert.Equal(Encoding.UTF8.GetByteCount("{\"ok\":true,\"method\":\"HEAD\",\"bytes\":0}"), head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Call_LargeResponse_IsStreamedBack()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/big");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1024 * 1024, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    // ---------- environments and tokens ----------

    [Fact]
    public async Task StagingToken_NeverReachesProductionUpstream()
    {
        var staging = await StartAsync();
        var production = await StartAsync("reader@production");

        await CallAsync(staging, HttpMethod.Get, "/gw/crm/customers/12345");
        await CallAsync(production, HttpMethod.Get, "/gw/crm/customers/12345");

        var received = _upstream.Received.ToArray();
        Assert.Equal(["/staging/customers/12345", "/production/customers/12345"], received.Select(r => r.RawTarget));
        Assert.Equal("Bearer " + StagingSecret, received[0].Header("Authorization"));
        Assert.Equal("Bearer " + ProductionSecret, received[1].Header("Authorization"));
    }

    [Fact]
    public async Task Token_ForAnotherResource_IsRefused()
    {
        var s = await StartAsync(scope: "down:read", target: "customers/12345");
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345");
        await AssertRefusedAsync(response, 401, "token.wrong_audience");
    }

    [Fact]
    public async Task Call_WithoutToken_IsRefused()
    {
        using var request = Request(HttpMethod.Get, "/gw/crm/customers/12345");
        var response = await GatewayHttp().SendAsync(request);
        await AssertRefusedAsync(response, 401, "auth.missing");
    }

    [Fact]
    public async Task DpopProof_Replayed_IsRefused()
    {
        var s = await StartAsync();
        using var first = new HttpRequestMessage(HttpMethod.Get, GatewayBase + "/gw/crm/customers/12345");
        s.Agent.Client.Authorize(first, s.Credential);
        using var replay = Replay(first);

        Assert.Equal(HttpStatusCode.OK, (await GatewayHttp().SendAsync(first)).StatusCode);
        var response = await GatewayHttp().SendAsync(replay);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("dpop.replayed", await CodeAsync(response));
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task TokenWithoutProof_IsRefused()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345", edit: r => r.Headers.Remove("DPoP"));
        await AssertRefusedAsync(response, 401, "dpop.missing");
    }

    [Fact]
    public async Task Task_Completed_RefusesTheNextCall()
    {
        var s = await StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345")).StatusCode);

        await s.Agent.Client.CompleteTaskAsync(s.TaskId);
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(await CodeAsync(response), new[] { "token.revoked", "token.task_closed" });
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Credential_Revoked_RefusesTheNextCall()
    {
        var s = await StartAsync();
        // A first call, so the token's signature and liveness are cached: revocation must still win on the next call.
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345")).StatusCode);
        var jti = (await _writ.Admin().GetAgentAsync("reader@staging")).ActiveCredentials.Single().Jti;
        await _writ.Admin().RevokeCredentialAsync(jti);

        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("token.revoked", await CodeAsync(response));
        Assert.Single(_upstream.Received);
    }

    [Fact]
    public async Task Agent_Suspended_RefusesTheNextCall()
    {
        var s = await StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345")).StatusCode);

        await _writ.Admin().SuspendAgentAsync("reader@staging");
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(await CodeAsync(response), new[] { "token.revoked", "token.agent_inactive" });
        Assert.Single(_upstream.Received);
    }

    // ---------- routes and restrictions ----------

    [Fact]
    public async Task Route_Unmapped_IsRefused()
    {
        var s = await StartAsync();
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Get, "/gw/crm/admin/users"), 403, "gateway.route_not_mapped");
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Put, "/gw/crm/customers/12345"), 403, "gateway.route_not_mapped");
    }

    [Fact]
    public async Task Delete_UnderNoDelete_IsRefusedEvenWhenTheRouteSaysRead()
    {
        var s = await StartAsync();
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Delete, "/gw/crm/customers/12345/cache"), 403, "gateway.restricted");
    }

    [Fact]
    public async Task Action_NotInScope_IsRefused()
    {
        var s = await StartAsync();
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Post, "/gw/crm/customers/12345/notes", new StringContent("{}", Encoding.UTF8, "application/json")),
            403, "gateway.action_not_in_scope");
    }

    [Fact]
    public async Task BulkRoute_UnderNoBulk_IsRefused()
    {
        var s = await StartAsync();
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/export"), 403, "gateway.restricted");
    }

    [Fact]
    public async Task OversizeBody_UnderNoBulk_IsRefused()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Post, "/gw/crm/customers/12345/search", new StringContent(new string('x', 2000)));
        await AssertRefusedAsync(response, 403, "gateway.restricted");
    }

    [Fact]
    public async Task OtherAccount_UnderNoCrossAccount_IsRefused()
    {
        var s = await StartAsync();
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/99999"), 403, "gateway.cross_account");
    }

    [Theory]
    [InlineData("/gw/down/x?Account=99999&account=12345")]
    [InlineData("/gw/down/x?ACCOUNT=12345")]                // a case-sensitive upstream sees no account at all
    [InlineData("/gw/down/x?account%5B%5D=99999&account=12345")]
    [InlineData("/gw/down/x?account[]=99999&account=12345")]
    [InlineData("/gw/down/x?account=12345;account=99999")]
    [InlineData("/gw/down/x?account=12345&account=12345")]
    public async Task AccountQueryLookalike_UnderNoCrossAccount_IsRefused(string pathAndQuery)
    {
        var s = await StartAsync(scope: "down:read");
        var response = await CallAsync(s, HttpMethod.Get, pathAndQuery);
        Assert.Equal("gateway.account_ambiguous", await CodeAsync(response));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    // Raw forms HttpClient would normalise before sending, checked on the parser itself.
    [Theory]
    [InlineData("?acc%6Funt=12345")]
    [InlineData("?%EF%BD%81ccount=99999&account=12345")] // fullwidth 'ａ'
    [InlineData("?account=12345&acc+ount=99999")]
    [InlineData("?account=1&account")]
    [InlineData("?account=12345&account[id]=99999")]     // Rails/PHP: account becomes a hash, its id 99999
    [InlineData("?account=12345&account[0]=99999")]
    [InlineData("?account=12345&account%5Bx%5D=99999")]
    [InlineData("?account=12345&account.id=99999")]      // qs allowDots; PHP reads it as account_id
    [InlineData("?account=12345&Account.Id=99999")]
    [InlineData("?account=12345&account%EF%BC%BBx%EF%BC%BD=99999")] // fullwidth brackets
    [InlineData("?account.=99999")]
    [InlineData("?account_id=1&account.id=2", "account_id")] // PHP: account.id is account_id
    [InlineData("?account_id=1&account_id[]=2", "account_id")]
    [InlineData("?accountid=1", "account_id")]
    public void AccountParameter_EncodedLookalike_IsAmbiguous(string query, string name = "account")
    {
        Assert.Equal("gateway.account_ambiguous", AccountParameter.Find(query, name).Error?.Code);
    }

    [Theory]
    [InlineData("?account=12345", "12345")]
    [InlineData("?a=1&account=12%33%34%35&b", "12345")]
    [InlineData("account=cust+1", "cust 1")]
    public void AccountParameter_Plain_IsDecoded(string query, string expected)
    {
        Assert.Equal(expected, AccountParameter.Find(query, "account").Value!.Account);
    }

    [Theory]
    [InlineData("?account=12345&accounts=1&my_account=2&account_type=b", "?account=12345&accounts=1&my_account=2&account_type=b")]
    [InlineData("?b=a+b&account=12%33%34%35;c&d=", "?b=a%20b&account=12345&c&d=")]
    public void AccountParameter_OtherNames_AreKeptAndReencoded(string query, string forwarded)
    {
        Assert.Equal(forwarded, AccountParameter.Find(query, "account").Value!.Query);
    }

    [Fact]
    public async Task AccountQuery_IsForwardedAsChecked()
    {
        // Writ checked account=12345; a server that does not split on ';' would have read account="12345;account=99999".
        var s = await StartAsync(scope: "ledger:read");
        var response = await CallAsync(s, HttpMethod.Get, "/gw/ledger/entries?account=12345;account2=99999&note=a+b&api_key=mine");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/ledger/entries?account=12345&account2=99999&note=a%20b&api_key=" + Uri.EscapeDataString(StagingSecret), Assert.Single(_upstream.Received).RawTarget);
    }

    [Fact]
    public async Task AccountQuery_WrittenPlainly_PassesTheAccountCheck()
    {
        var s = await StartAsync(scope: "down:read");
        // Past every check, the call reaches for the (down) upstream; with another account it does not.
        Assert.Equal("gateway.upstream_unreachable", await CodeAsync(await CallAsync(s, HttpMethod.Get, "/gw/down/x?account=12345&other=1")));
        Assert.Equal("gateway.cross_account", await CodeAsync(await CallAsync(s, HttpMethod.Get, "/gw/down/x?account=99999")));
        Assert.Equal("gateway.account_unknown", await CodeAsync(await CallAsync(s, HttpMethod.Get, "/gw/down/x?other=12345")));
    }

    [Theory]
    [InlineData("/gw/crm/customers/EXPORT", "gateway.route_case_mismatch")]
    [InlineData("/gw/crm/Customers/12345", "gateway.route_case_mismatch")]
    [InlineData("/gw/crm/customers/export.json", "gateway.route_lookalike")]
    [InlineData("/gw/crm/customers/Export.CSV", "gateway.route_lookalike")]
    [InlineData("/gw/crm/customers/export;format=csv", "gateway.route_lookalike")]
    [InlineData("/gw/crm/customers/export%20.json", "gateway.route_lookalike")]
    [InlineData("/gw/crm/customers/export.", "gateway.bad_path")]
    [InlineData("/gw/crm/customers/export..", "gateway.bad_path")]
    [InlineData("/gw/crm/customers/export%20", "gateway.bad_path")]
    [InlineData("/gw/crm/customers/export%09", "gateway.bad_path")]
    [InlineData("/gw/crm/customers/12345%20", "gateway.bad_path")]
    public async Task RouteLookalike_IsRefused(string path, string code)
    {
        // Writ would match {account} (read, not bulk); a case-insensitive, Rails, Spring or IIS upstream would serve
        // /customers/export. The writer has no no-cross-account, so nothing else stops these.
        var s = await StartAsync("writer@staging", "crm:read crm:write", target: null);
        await AssertRefusedAsync(await CallAsync(s, HttpMethod.Get, path), code == "gateway.bad_path" ? 400 : 403, code);
    }

    [Fact]
    public async Task Writer_WithoutRestrictions_ReachesOtherAccounts()
    {
        var s = await StartAsync("writer@staging", "crm:write", target: null);
        var response = await CallAsync(s, HttpMethod.Post, "/gw/crm/customers/777/notes", new StringContent("{\"note\":\"hi\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/staging/customers/777/notes", Assert.Single(_upstream.Received).RawTarget);
    }

    // ---------- path tricks that survive a client library's URL canonicalisation (raw ones: GatewayWireTests) ----------

    [Theory]
    [InlineData("/gw/crm/customers%2F12345")]
    [InlineData("/gw/crm/customers/%C0%AE%C0%AE/export")]
    [InlineData("/gw/crm/customers/%252e%252e")]
    [InlineData("/gw/crm/customers%5C12345")]
    public async Task PathTrick_WithValidToken_IsRefusedAndReachesNothing(string path)
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("gateway.bad_path", await CodeAsync(response));
        Assert.Empty(_upstream.Received);
    }

    // ---------- header smuggling (checked on the parsed request; Kestrel refuses most of these on the wire already) ----------

    [Theory]
    [InlineData("X-Evil", "a\r\nInjected: 1", "CR, LF or NUL")]
    [InlineData("X-Evil", "a\0b", "CR, LF or NUL")]
    [InlineData("Transfer-Encoding", "gzip, chunked", "chunked")]
    public void RequestHeaders_Smuggling_AreRefused(string name, string value, string expected)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers[name] = value;
        Assert.Contains(expected, UpstreamForwarder.CheckRequestHeaders(http.Request));
    }

    [Fact]
    public void RequestHeaders_DuplicateHost_IsRefused()
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.Host = new Microsoft.Extensions.Primitives.StringValues(["a.example", "b.example"]);
        Assert.Contains("Host", UpstreamForwarder.CheckRequestHeaders(http.Request));
    }

    [Fact]
    public void RequestHeaders_ContentLengthWithTransferEncoding_IsRefused()
    {
        var http = new DefaultHttpContext();
        http.Request.Headers.ContentLength = 5;
        http.Request.Headers.TransferEncoding = "chunked";
        Assert.Contains("both", UpstreamForwarder.CheckRequestHeaders(http.Request));
        var twice = new DefaultHttpContext();
        twice.Request.Headers["Content-Length"] = new Microsoft.Extensions.Primitives.StringValues(["5", "6"]);
        Assert.Contains("Content-Length", UpstreamForwarder.CheckRequestHeaders(twice.Request));
    }

    [Fact]
    public async Task HeaderWithCrLf_ThroughTheGateway_IsRefused()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345", edit: r => r.Headers.TryAddWithoutValidation("X-Evil", "a\r\nInjected: 1"));
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.All(_upstream.Received, r => Assert.Null(r.Header("Injected")));
    }

    [Fact]
    public async Task ConnectionNamedHeaders_AreNotForwarded()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345", edit: r =>
        {
            r.Headers.TryAddWithoutValidation("Connection", "X-Hop");
            r.Headers.TryAddWithoutValidation("X-Hop", "secret-hop");
            r.Headers.TryAddWithoutValidation("Proxy-Authorization", "Basic abc");
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var got = Assert.Single(_upstream.Received);
        Assert.Null(got.Header("X-Hop"));
        Assert.Null(got.Header("Proxy-Authorization"));
    }

    [Theory]
    [InlineData("X-HTTP-Method-Override", "DELETE")]
    [InlineData("X-HTTP-Method", "DELETE")]
    [InlineData("X-Method-Override", "DELETE")]
    [InlineData("X-Original-URL", "/admin/purge")]
    [InlineData("X-Rewrite-URL", "/admin/purge")]
    [InlineData("X-Forwarded-Prefix", "/admin")]
    [InlineData("X-Real-IP", "10.0.0.1")]
    [InlineData("Range", "bytes=0-7")]
    public async Task MethodOrPathOverrideAndSlicingHeaders_AreNotForwarded(string header, string value)
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345", edit: r => r.Headers.TryAddWithoutValidation(header, value));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var got = Assert.Single(_upstream.Received);
        Assert.Null(got.Header(header));
    }

    // ---------- upstream failures ----------

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    [InlineData("gzip,br")]
    [InlineData("identity")]
    public async Task Upstream_CompressingUnasked_IsDecodedAndScrubbed(string coding)
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/compressed?coding=" + coding);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Content.Headers.ContentEncoding.All(c => c == "identity"), "still encoded");
        Assert.Equal("{\"you_sent\":\"[redacted]\"}", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("gzip&corrupt=1")]
    [InlineData("deflate&corrupt=1")]
    [InlineData("br&corrupt=1")]
    public async Task Upstream_CorruptCompressedBody_Is502AndAudited(string coding)
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/compressed?coding=" + coding);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("gateway.upstream_broken", await CodeAsync(response));
        var entries = await AuditOfAsync("crm");
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_broken");
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("gzip,zstd")]
    [InlineData("gzip,gzip,gzip")]
    public async Task Upstream_CompressingInAnUnknownCoding_Is502AndAudited(string coding)
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/compressed?coding=" + coding);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("gateway.upstream_encoding", await CodeAsync(response));
        Assert.DoesNotContain(StagingSecret, await response.Content.ReadAsStringAsync());
        var entries = await AuditOfAsync("crm");
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_encoding");
    }

    [Fact]
    public async Task Upstream_Down_Is502AndAudited()
    {
        var s = await StartAsync(scope: "down:read");
        var response = await CallAsync(s, HttpMethod.Get, "/gw/down/anything?account=12345");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("gateway.upstream_unreachable", await CodeAsync(response));
        var entries = await AuditOfAsync("down");
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_unreachable");
    }

    [Fact]
    public async Task Upstream_DyingMidBody_Is502AndAudited()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/broken");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("gateway.upstream_broken", await CodeAsync(response));
        var entries = await AuditOfAsync("crm");
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_broken");
    }

    [Fact]
    public async Task Upstream_Slow_Is504AndAudited()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/slow");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("gateway.upstream_timeout", await CodeAsync(response));
        var entries = await AuditOfAsync("crm");
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_timeout");
    }

    [Fact]
    public async Task Upstream_Redirect_IsNotFollowed()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/redirect");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Single(_upstream.Received);
    }

    // ---------- audit and secrecy ----------

    [Fact]
    public async Task Call_IsAuditedWithDecisionAndOutcome_SecretQueryValuesRedacted()
    {
        var s = await StartAsync();
        await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345?api_token=hunter2&page=2");
        await CallAsync(s, HttpMethod.Get, "/gw/crm/admin");

        var entries = (await AuditOfAsync("crm")).Where(e => e.Action.StartsWith("gateway.", StringComparison.Ordinal)).ToList();
        var decision = entries.Single(e => e.Action == "gateway.call" && e.Decision == "allow");
        var outcome = entries.Single(e => e.Action == "gateway.result");
        var denied = entries.Single(e => e.Decision == "deny");
        Assert.Equal(("reader@staging", s.TaskId, "sam@example.com", "staging", "crm:read"), (decision.ActorId, decision.TaskId, decision.OnBehalfOf, decision.Environment, decision.Scope));
        Assert.Contains("\"path\":\"/customers/12345\"", decision.Details);
        Assert.Contains("api_token=[redacted]", decision.Details);
        Assert.Contains("page=2", decision.Details);
        Assert.Contains("\"upstream_status\":200", outcome.Details);
        Assert.Equal("gateway.route_not_mapped", denied.Reason);
        Assert.DoesNotContain("hunter2", string.Join("\n", entries.Select(e => e.Details)));
    }

    [Fact]
    public async Task UpstreamSecret_NeverReachesTheAgentLogsAuditOrDatabase()
    {
        var s = await StartAsync();
        var seen = new StringBuilder();
        foreach (var path in new[] { "/gw/crm/customers/12345/echo-auth", "/gw/crm/customers/12345", "/gw/crm/customers/99999", "/gw/crm/customers/12345/slow" })
        {
            var response = await CallAsync(s, HttpMethod.Get, path);
            seen.Append(response.StatusCode).Append(response.Headers).Append(response.Content.Headers).Append(await response.Content.ReadAsStringAsync());
        }
        Assert.Contains(_upstream.Received, r => r.Header("Authorization") == "Bearer " + StagingSecret); // the upstream did get it
        Assert.Contains("[redacted]", seen.ToString());
        await SettleAuditAsync();
        await foreach (var line in _writ.Admin().ExportAuditAsync()) seen.Append(line);
        seen.Append(string.Join('\n', _writ.Logs.Lines));
        seen.Append(string.Join('\n', GatewayLogLines));
        seen.Append(_writ.PrintedOutput);
        seen.Append(await _writ.DumpDatabaseAsync());

        var text = seen.ToString();
        foreach (var secret in new[] { StagingSecret, ProductionSecret, Convert.ToBase64String(Encoding.UTF8.GetBytes(StagingSecret)) })
            Assert.DoesNotContain(secret, text);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(1000)]
    public void StreamingScrubber_FindsSecretSplitAcrossChunks(int chunkSize)
    {
        var body = Encoding.UTF8.GetBytes("head " + StagingSecret + " middle Bearer " + StagingSecret + " tail");
        var scrubber = new StreamingScrubber(["Bearer " + StagingSecret, StagingSecret]);
        var output = new List<byte>();
        for (var i = 0; i < body.Length; i += chunkSize) output.AddRange(scrubber.Push(body.AsSpan(i, Math.Min(chunkSize, body.Length - i))));
        output.AddRange(scrubber.Flush());
        Assert.Equal("head [redacted] middle [redacted] tail", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Theory]
    [InlineData("p@ss/w\"rd+é<>&=?x y")]
    [InlineData("sk_staging_PLANTED_9d2f71c0a4")]
    public void SecretForms_EscapedEchoes_AreAllScrubbed(string secret)
    {
        var injected = "Bearer " + secret;
        var echoes = new[]
        {
            System.Text.Json.JsonSerializer.Serialize(new { you_sent = injected }),                        // \u0022, \u002B, \u00E9 …
            System.Text.Json.JsonSerializer.Serialize(secret, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
            System.Text.RegularExpressions.Regex.Replace(System.Text.Json.JsonSerializer.Serialize(secret), @"\\u[0-9A-F]{4}", m => m.Value.ToLowerInvariant()), // lower-case \u hex
            "https://x/cb?token=" + Uri.EscapeDataString(secret),
            "a=" + System.Net.WebUtility.UrlEncode(secret) + "&b=1",
            "token=" + System.Text.RegularExpressions.Regex.Replace(Uri.EscapeDataString(secret), "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant()),
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)),
            "jwt." + Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"k\":\"" + secret + "\"}")) + ".sig",
            "x" + Convert.ToBase64String(Encoding.UTF8.GetBytes("ab" + secret + "cd")).Replace('+', '-').Replace('/', '_'),
        };
        var forms = SecretForms.Of(secret, injected);
        AssertAllScrubbed(secret, forms, echoes);
    }

    /// <summary>Escaped spellings real serialisers and servers write, each checked on its own and split across chunks.</summary>
    [Theory]
    [InlineData("p@ss/w\"rd+é<>&=?x y")]
    [InlineData("AbC+/dEf==")]               // base64-looking secrets: '+', '/', '='
    [InlineData("sk_staging_PLANTED_9d2f71c0a4")]
    public void SecretMatcher_EscapedSpellings_AreAllScrubbed(string secret)
    {
        string Php(string v) => System.Text.RegularExpressions.Regex.Replace(
            System.Text.Json.JsonSerializer.Serialize(v, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
            "[^\\x00-\\x7F]", m => "\\u" + ((int)m.Value[0]).ToString("x4")).Replace("/", "\\/");
        string Go(string v) => System.Text.RegularExpressions.Regex.Replace(
            System.Text.Json.JsonSerializer.Serialize(v, new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }),
            "[<>&]", m => "\\u" + ((int)m.Value[0]).ToString("x4"));
        var echoes = new[]
        {
            "{\"token\":" + Php(secret) + "}",                                                  // PHP json_encode: \/ and lower-case \u00e9
            "{\"token\":" + Go(secret) + "}",                                                   // Go encoding/json: \u003c, '+' as is
            "{\"token\":" + System.Text.Json.JsonSerializer.Serialize(secret).Replace("/", "\\/") + "}", // \u002B and \/ together
            "<p>You sent " + System.Net.WebUtility.HtmlEncode(secret) + "</p>",                // &amp; &quot; &lt; and &#233;
            "<p>You sent " + System.Text.Encodings.Web.HtmlEncoder.Default.Encode(secret) + "</p>", // Razor: &#x2B; &#x2F;
            "<a href=\"/cb?a=1&amp;api_key=" + System.Text.RegularExpressions.Regex.Replace(Uri.EscapeDataString(secret), "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant()) + "\">", // lower-case hex, in HTML
            "{\"url\":\"https:\\/\\/x\\/cb?api_key=" + Uri.EscapeDataString(secret) + "\"}",      // percent-encoded inside JSON
        };
        AssertAllScrubbed(secret, SecretForms.Of(secret, "Bearer " + secret), echoes);
    }

    [Theory]
    [InlineData("svc-writ", "p@ss/w+rd-PLANTED-77")]
    [InlineData("u", "AbCdEfGh12345678")]
    public void SecretMatcher_BareBasicPayload_IsScrubbed(string user, string secret)
    {
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + secret));
        var echoes = new[]
        {
            "{\"auth\":\"" + payload + "\"}",
            "credentials=" + payload.TrimEnd('='),
            "{\"auth\":\"" + payload.Replace("/", "\\/") + "\"}",
            "auth=" + Uri.EscapeDataString(payload),
        };
        var forms = SecretForms.Of(secret, "Basic " + payload);
        foreach (var echo in echoes)
        {
            var output = ScrubInChunks(forms, echo, 5);
            Assert.DoesNotContain(payload.TrimEnd('=')[..^2], output);
            Assert.Contains("[redacted]", output);
        }
        // The whole payload goes, not only the part that encodes the secret's bits.
        Assert.Equal("credentials=[redacted]", ScrubInChunks(forms, "credentials=" + payload.TrimEnd('='), 5));
    }

    [Fact]
    public void SecretMatcher_LongBodyFullOfNearMisses_StaysLinear()
    {
        // Every position starts a spelling of the secret's first characters and then fails: the work per byte is bounded
        // by the secret's length, so 4 MiB takes well under a second (quadratic matching would take minutes: the run's
        // timeout, not a timing assertion, is what catches it).
        const string secret = "sk_staging_PLANTED_9d2f71c0a4";
        var nearMiss = "%73%6B\\u005f" + secret[..12] + "&#95;";
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(nearMiss, 4 * 1024 * 1024 / nearMiss.Length)) + secret);
        var scrubber = new StreamingScrubber(SecretForms.Of(secret, "Bearer " + secret));
        var output = new List<byte>(body.Length);
        for (var i = 0; i < body.Length; i += 16 * 1024) output.AddRange(scrubber.Push(body.AsSpan(i, Math.Min(16 * 1024, body.Length - i))));
        output.AddRange(scrubber.Flush());
        Assert.EndsWith("[redacted]", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void SecretMatcher_SecretWithARunOfBackslashes_AgainstEscapes_DoesNotBranchExponentially()
    {
        // Each '\' of the secret matches the data's "\\" both as one escaped backslash and as a raw one: without
        // remembering failed tails, 40 of them would take 2^40 tries at every position (the run would never end).
        var secret = "k" + new string('\\', 40) + "!";
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("k" + new string('\\', 80) + "?", 64)) + "k" + new string('\\', 80) + "!");
        var scrubbed = Encoding.UTF8.GetString(new SecretMatcher(SecretForms.Of(secret, null)).Replace(body));
        Assert.EndsWith("[redacted]", scrubbed);
    }

    private static string ScrubInChunks(string[] forms, string text, int chunkSize)
    {
        var scrubber = new StreamingScrubber(forms);
        var body = Encoding.UTF8.GetBytes(text);
        var output = new List<byte>();
        for (var i = 0; i < body.Length; i += chunkSize) output.AddRange(scrubber.Push(body.AsSpan(i, Math.Min(chunkSize, body.Length - i))));
        output.AddRange(scrubber.Flush());
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static void AssertAllScrubbed(string secret, string[] forms, IEnumerable<string> echoes)
    {
        foreach (var echo in echoes)
        {
            foreach (var chunkSize in new[] { 3, 1 << 20 })
            {
                var output = ScrubInChunks(forms, echo, chunkSize);
                Assert.True(output.Contains("[redacted]", StringComparison.Ordinal), "not scrubbed: " + output);
                Assert.DoesNotContain(secret, output);
                Assert.DoesNotContain(Uri.EscapeDataString(secret), output, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))[..8], output);
                // Nothing of the secret longer than a few characters survives, whatever the spelling.
                Assert.DoesNotContain(secret[..Math.Min(6, secret.Length)], output);
            }
        }
    }

    [Fact]
    public async Task UpstreamEchoingABasicCredentialEscaped_IsScrubbed()
    {
        var s = await StartAsync("writer@staging", "billing:read", target: null);
        var response = await CallAsync(s, HttpMethod.Get, "/gw/billing/echo-basic");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("payload=[redacted]\nphp={\"p\":\"[redacted]\"}\nhtml=[redacted]\nurl=[redacted]", body);
    }

    [Fact]
    public async Task UpstreamEchoingTheSecretEncoded_IsScrubbed()
    {
        var s = await StartAsync();
        var response = await CallAsync(s, HttpMethod.Get, "/gw/crm/customers/12345/echo-encoded");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("[redacted]", body);
        foreach (var leak in new[] { StagingSecret, Convert.ToBase64String(Encoding.UTF8.GetBytes(StagingSecret))[..12], Convert.ToBase64String(Encoding.UTF8.GetBytes("Bearer " + StagingSecret))[..12] })
        {
            Assert.DoesNotContain(leak, body);
            Assert.DoesNotContain(leak, string.Join("\n", response.Headers.Select(h => h.Key + ": " + string.Join(",", h.Value))));
        }
    }
}
