using System.Net;
using System.Text;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// Invariant 7 for the HTTP gateway: when the audit log cannot be written, no answer reaches the agent, and a call
/// that may change something upstream is never sent. (A read may be sent while its decision commits; its answer is
/// held until the commit, and dropped when it fails.)
/// </summary>
public sealed class GatewayAuditFailureTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private WritFixture _writ = null!;

    private static string Policy(string upstream) => $$"""
        environments: { staging: {} }
        resources:
          crm:
            actions: [read, write]
            environments:
              staging:
                upstream: {{upstream}}/staging/
                credential: { secret: crm-staging, inject: { header: Authorization, template: "Bearer {secret}" } }
                routes:
                  - { method: GET, path: "/customers/{account}", action: read }
                  - { method: POST, path: "/customers/{account}/notes", action: write }
        roles:
          crm-writer:
            permissions: { crm: [read, write] }
            preapproved: { crm: [write] }
        agents:
          writer@staging: { kind: ai-agent, owner: dana@example.com, roles: [crm-writer] }
        """;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _writ = await WritFixture.StartAsync(Policy(_upstream.BaseUrl));
        await _writ.Admin().PutSecretAsync("crm-staging", "sk_staging_PLANTED_audit_fail");
    }

    public async Task DisposeAsync()
    {
        await _writ.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Calls_WhenAuditCannotBeWritten_FailClosed_AndWritesNeverLeave()
    {
        var agent = await _writ.EnrollAsync("writer@staging");
        var task = await agent.Client.StartTaskAsync("audit failure test");
        var credential = await agent.Client.GetCredentialAsync("crm:read crm:write", task.Id, "customers/12345");
        await _writ.BlockAuditAsync();

        async Task<HttpResponseMessage> CallAsync(HttpMethod method, string path, HttpContent? body = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(WritFixture.Issuer + path)) { Content = body };
            agent.Client.Authorize(request, credential);
            return await _writ.Http().SendAsync(request);
        }

        var read = await CallAsync(HttpMethod.Get, "/gw/crm/customers/12345");
        var write = await CallAsync(HttpMethod.Post, "/gw/crm/customers/12345/notes", new StringContent("{\"note\":\"x\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.Contains("audit.unavailable", await read.Content.ReadAsStringAsync());
        Assert.DoesNotContain("\"ok\":true", await read.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
        Assert.DoesNotContain(_upstream.Received, r => r.Method == "POST");
    }
}
