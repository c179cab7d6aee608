using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Writ.Client.Http;
using Writ.Client.Keys;

namespace Writ.EndToEnd.Tests;

/// <summary>
/// The quickstart's second act with real processes: coding-agent@staging asks to delete a staging volume, is told
/// an elevation is required, a human (alice, not the agent's owner) approves a short window, the delete credential
/// is issued and used through the gateway, and once the window closes the same request is refused and the
/// credential no longer works. The audit trail names each step with its actor kind.
/// </summary>
public sealed partial class ElevationStoryTests : IAsyncLifetime
{
    private const string Password = "correct horse battery staple";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "writ-e2e-elev-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<string> _received = new();
    private ServerProcess _server = null!;
    private HttpListener _upstream = null!;
    private Dictionary<string, string> _admin = null!;
    private Dictionary<string, string> _alice = null!;
    private Dictionary<string, string> _agentMachine = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        (_upstream, var port) = Writ.StartLoopbackListener();
        _ = ServeAsync();
        _server = await ServerProcess.StartAsync(_root);
        _admin = new() { ["WRIT_ADDR"] = _server.Addr, ["WRIT_TOKEN"] = _server.AdminToken, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "admin-config") };
        _agentMachine = new() { ["WRIT_ADDR"] = _server.Addr, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "agent-config") };

        var policy = Path.Combine(_root, "policy.yaml");
        await File.WriteAllTextAsync(policy, $$"""
            environments: { staging: {} }
            groups: { platform-oncall: [alice, bob] }
            resources:
              volumes:
                actions: [read, write, delete]
                environments:
                  staging:
                    upstream: http://127.0.0.1:{{port}}/
                    credential: { secret: volumes-staging, inject: { header: Authorization, template: "Bearer {secret}" } }
                    routes:
                      - { method: GET, path: "/volumes/{name}", action: read }
                      - { method: DELETE, path: "/volumes/{name}", action: delete }
            roles:
              staging-developer:
                permissions: { volumes: [read, write, delete] }
                preapproved: { volumes: [write] }
                approvals:
                  volumes:
                    delete: { approvers: [group:platform-oncall], justification: 20, max_window: 15m }
            agents:
              coding-agent@staging: { kind: ai-agent, owner: dana@example.com, roles: [staging-developer] }
            """);
        Assert.Equal(0, (await Writ.RunAsync(_admin, null, "apply", "-f", policy)).ExitCode);
        Assert.Equal(0, (await Writ.RunAsync(_admin, "sk_volumes_E2E_FAKE_91af\n", "secret", "put", "volumes-staging")).ExitCode);
        _alice = await Writ.UserAsync(_admin, "alice", "approver", Password, Path.Combine(_root, "alice-config"));
        var code = await Writ.RunAsync(_admin, null, "agent", "enroll-code", "coding-agent@staging");
        var enroll = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "coding-agent@staging", "--code", code.Stdout.Trim(), "--server", _server.Addr);
        Assert.True(enroll.ExitCode == 0, enroll.Stderr);
    }

    private async Task ServeAsync()
    {
        while (_upstream.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _upstream.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            _received.Enqueue(context.Request.HttpMethod + " " + context.Request.RawUrl);
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    public async Task DisposeAsync()
    {
        _upstream.Stop();
        _upstream.Close();
        await _server.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Delete_NeedsAnElevation_ApprovedByAnotherHuman_UsableOnlyInsideItsWindow()
    {
        var task = await Writ.RunAsync(_agentMachine, null, "task", "start", "--purpose", "remove the orphaned staging volume", "--ticket", "OPS-77", "--on-behalf-of", "dana@example.com");
        Assert.True(task.ExitCode == 0, task.Stderr);
        var taskId = task.Stdout.Trim();
        string[] ask = ["token", "--task", taskId, "--scope", "volumes:delete", "--target", "vol-7"];

        var asked = await Writ.RunAsync(_agentMachine, null, [.. ask, "--justification", "vol-7 is orphaned after the OPS-77 migration"]);
        Assert.True(asked.ExitCode == 3, asked.Stderr);
        Assert.Contains("elevation_required", asked.Stderr);
        var id = ApprovalId().Match(asked.Stderr).Value;
        Assert.StartsWith("apr_", id);

        var pending = await Writ.RunAsync(_alice, null, "approvals", "list");
        Assert.Contains(id, pending.Stdout);
        Assert.Contains("vol-7 is orphaned", pending.Stdout);
        var unconfirmed = await Writ.RunAsync(_alice, "\n", "approvals", "approve", id, "--reason", "no password given");
        Assert.Equal(2, unconfirmed.ExitCode); // the saved session alone cannot decide
        var approve = await Writ.RunAsync(_alice, Password + "\n", "approvals", "approve", id, "--reason", "confirmed with dana: orphaned after OPS-77", "--window", "15s");
        Assert.True(approve.ExitCode == 0, approve.Stderr);

        var issued = await Writ.RunAsync(_agentMachine, null, [.. ask, "--approval", id]);
        Assert.True(issued.ExitCode == 0, issued.Stderr);
        var token = issued.Stdout.Trim();

        // The agent uses it through the gateway, with a proof from its own key (the key file `writ enroll` wrote).
        var agent = new WritAgentClient(new HttpClient(), new Uri(_server.Addr + "/"), "coding-agent@staging",
            AgentKeyPair.Load(Path.Combine(_root, "agent-config", "writ", "keys", "coding-agent@staging.json")));
        var credential = new Credential(token, "volumes:delete", taskId, "staging", "vol-7", DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(HttpStatusCode.NoContent, await DeleteAsync(agent, credential));
        Assert.Contains("DELETE /volumes/vol-7", _received);

        // After the window: the same request is refused, and the credential it produced is revoked.
        var closed = await WaitForAsync(async () => (await Writ.RunAsync(_alice, null, "approvals", "show", id)).Stdout.Contains("closed"));
        Assert.True(closed, "the elevation window closed within 30 s");
        var again = await Writ.RunAsync(_agentMachine, null, [.. ask, "--approval", id]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("elevation.window_closed", again.Stderr);
        Assert.Equal(HttpStatusCode.Unauthorized, await DeleteAsync(agent, credential));

        var trail = await Writ.RunAsync(_admin, null, "audit", "search", "--task", taskId, "-o", "json");
        Assert.True(trail.ExitCode == 0, trail.Stderr);
        var steps = JsonDocument.Parse(trail.Stdout).RootElement.EnumerateArray()
            .Select(e => $"{e.GetProperty("actor_kind").GetString()} {e.GetProperty("actor_id").GetString()} {e.GetProperty("action").GetString()} {e.GetProperty("decision").GetString()}")
            .ToList();
        Assert.Contains("ai-agent coding-agent@staging token.issue elevation_required", steps);
        Assert.Contains("human alice approval.approve allow", steps);
        Assert.Contains("ai-agent coding-agent@staging token.issue allow", steps);
        Assert.Contains(steps, s => s.StartsWith("ai-agent coding-agent@staging gateway.", StringComparison.Ordinal) && s.EndsWith(" allow", StringComparison.Ordinal));
        Assert.Contains("system writ elevation.expire info", steps);
        Assert.Contains("confirmed with dana", trail.Stdout);
    }

    private static async Task<HttpStatusCode> DeleteAsync(WritAgentClient agent, Credential credential)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(agent.Server, "gw/volumes/volumes/vol-7"));
        agent.Authorize(request, credential);
        using var http = new HttpClient();
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return true;
            await Task.Delay(1000);
        }
        return false;
    }

    [GeneratedRegex("apr_[A-Za-z0-9_-]+")]
    private static partial Regex ApprovalId();
}
