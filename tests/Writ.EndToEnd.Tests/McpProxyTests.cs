using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Writ.Client.Http;
using Writ.Server.Tests.Mcp;

namespace Writ.EndToEnd.Tests;

/// <summary>
/// Real processes end to end: a <c>writ server</c>, <c>server-everything</c> behind it, and real MCP clients — the
/// TypeScript SDK and the C# SDK — through <c>writ mcp-proxy</c> (stdio) and the TypeScript SDK over Streamable HTTP with
/// DPoP. The proxy's task is completed (its credentials revoked) when the client disconnects or on SIGTERM.
/// </summary>
public sealed class McpProxyTests : IAsyncLifetime
{
    private const string Agent = "mcp-bot@staging";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "writ-e2e-mcp-" + Guid.NewGuid().ToString("N"));
    private ServerProcess _server = null!;
    private Dictionary<string, string> _agentMachine = null!;
    private WritAdminClient _admin = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _server = await ServerProcess.StartAsync(_root);
        var admin = new Dictionary<string, string> { ["WRIT_ADDR"] = _server.Addr, ["WRIT_TOKEN"] = _server.AdminToken, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "admin-config") };
        _agentMachine = new() { ["WRIT_ADDR"] = _server.Addr, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "agent-config") };
        _admin = new WritAdminClient(new HttpClient(), new Uri(_server.Addr + "/"), _server.AdminToken);

        var policy = Path.Combine(_root, "policy.yaml");
        await File.WriteAllTextAsync(policy, $$"""
            environments: { staging: {} }
            resources:
              everything:
                actions: [read]
                environments:
                  staging:
                    mcp:
                      command: {{McpPeers.Node}}
                      args: ["{{McpPeers.Everything}}", stdio]
                      tools: { echo: read, get-sum: read }
            roles:
              mcp-user:
                permissions: { everything: [read] }
            agents:
              {{Agent}}: { kind: ai-agent, owner: sam@example.com, roles: [mcp-user] }
            """);
        var applied = await Writ.RunAsync(admin, null, "apply", "-f", policy);
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        var code = await Writ.RunAsync(admin, null, "agent", "enroll-code", Agent);
        var enroll = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", Agent, "--code", code.Stdout.Trim(), "--server", _server.Addr);
        Assert.True(enroll.ExitCode == 0, enroll.Stderr);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private Dictionary<string, string> ProxyEnvironment() => new(_agentMachine) { ["DOTNET_NOLOGO"] = "1" };

    private async Task AssertAllTasksCompletedAsync()
    {
        var tasks = await _admin.ListTasksAsync(Agent, null);
        Assert.NotEmpty(tasks);
        Assert.All(tasks, t => Assert.Equal("completed", t.Status));
        Assert.Empty((await _admin.GetAgentAsync(Agent)).ActiveCredentials);
    }

    private static void AssertSawPolicy(string stdout)
    {
        var seen = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
        Assert.Equal(["echo", "get-sum"], seen["tools"]!.AsArray().Select(t => (string)t!).Order());
        Assert.Equal("Echo: from the TypeScript SDK", (string?)seen["echo"]);
        Assert.True((bool)seen["denied"]!);
        Assert.Contains("mcp.unknown_name", (string?)seen["deniedText"]);
    }

    [Fact]
    public async Task TypeScriptSdk_ThroughMcpProxy_WorksAndTaskClosesOnDisconnect()
    {
        var run = await McpPeers.RunNodeAsync("sdk-client.mjs", ProxyEnvironment(), "stdio", "dotnet", Writ.Dll, "mcp-proxy", "everything");

        Assert.True(run.Code == 0, run.Err);
        AssertSawPolicy(run.Out);
        Assert.DoesNotContain("eyJ", run.Out + run.Err);
        await AssertAllTasksCompletedAsync();
        var audit = await _admin.SearchAuditAsync(actor: Agent, action: "mcp.call", limit: 100);
        Assert.Contains(audit, a => a.Decision == "deny" && a.Reason == "mcp.unknown_name");
        Assert.Contains(audit, a => a.Decision == "allow" && a.Details!.Contains("echo"));
    }

    [Fact]
    public async Task TypeScriptSdk_OverStreamableHttpWithDpop_Works()
    {
        var task = await Writ.RunAsync(_agentMachine, null, "task", "start", "--agent", Agent, "--purpose", "ts over http");
        Assert.True(task.ExitCode == 0, task.Stderr);
        var taskId = task.Stdout.Trim().Split('\n')[0].Split(' ', '\t')[0];
        var token = await Writ.RunAsync(_agentMachine, null, "token", "--agent", Agent, "--scope", "everything:read", "--task", taskId);
        Assert.True(token.ExitCode == 0, token.Stderr);
        var keyFile = Directory.GetFiles(Path.Combine(_root, "agent-config"), "*.json", SearchOption.AllDirectories)
            .Single(f => File.ReadAllText(f).Contains("private_key_pkcs8", StringComparison.Ordinal));

        var run = await McpPeers.RunNodeAsync("sdk-client.mjs",
            new Dictionary<string, string> { ["WRIT_MCP_TOKEN"] = token.Stdout.Trim(), ["WRIT_MCP_KEY_FILE"] = keyFile },
            "http", _server.Addr + "/mcp/everything");

        Assert.True(run.Code == 0, run.Err + run.Out);
        AssertSawPolicy(run.Out);
    }

    [Fact]
    public async Task CSharpSdk_ThroughMcpProxy_Works()
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [Writ.Dll, "mcp-proxy", "everything"],
            EnvironmentVariables = ProxyEnvironment().ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
        });
        await using (var client = await McpClient.CreateAsync(transport))
        {
            var tools = await client.ListToolsAsync();
            var sum = await client.CallToolAsync("get-sum", new Dictionary<string, object?> { ["a"] = 20, ["b"] = 22 });
            var denied = await client.CallToolAsync("get-env");

            Assert.Equal(["echo", "get-sum"], tools.Select(t => t.Name).Order());
            Assert.Contains("42", Assert.IsType<TextContentBlock>(sum.Content[0]).Text);
            Assert.True(denied.IsError);
        }
        // Disposing the client closes the proxy's stdin; the proxy then completes its task.
        for (var i = 0; i < 100 && (await _admin.ListTasksAsync(Agent, "open")).Count > 0; i++) await Task.Delay(100);
        await AssertAllTasksCompletedAsync();
    }

    [Fact]
    public async Task McpProxy_Sigterm_CompletesTheTask()
    {
        var psi = Writ.Start(ProxyEnvironment(), "mcp-proxy", "everything");
        psi.RedirectStandardInput = true;
        using var proxy = Process.Start(psi)!;
        await proxy.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""");
        await proxy.StandardInput.FlushAsync();
        var first = await proxy.StandardOutput.ReadLineAsync();
        Assert.Contains("\"serverInfo\"", first);
        Assert.Single(await _admin.ListTasksAsync(Agent, "open"));

        using (var kill = Process.Start("kill", ["-TERM", proxy.Id.ToString()])) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await proxy.WaitForExitAsync(timeout.Token);

        await AssertAllTasksCompletedAsync();
    }

    [Fact]
    public async Task McpProxy_MalformedLine_GetsJsonRpcErrorAndSessionContinues()
    {
        var psi = Writ.Start(ProxyEnvironment(), "mcp-proxy", "everything");
        psi.RedirectStandardInput = true;
        using var proxy = Process.Start(psi)!;
        await proxy.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""");
        await proxy.StandardInput.FlushAsync();
        await proxy.StandardOutput.ReadLineAsync();
        await proxy.StandardInput.WriteLineAsync("{this is not json");
        await proxy.StandardInput.FlushAsync();
        var error = JsonNode.Parse((await proxy.StandardOutput.ReadLineAsync())!)!;
        await proxy.StandardInput.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"after"}}}""");
        await proxy.StandardInput.FlushAsync();
        var after = JsonNode.Parse((await proxy.StandardOutput.ReadLineAsync())!)!;
        proxy.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await proxy.WaitForExitAsync(timeout.Token);

        Assert.Equal(-32700, (int)error["error"]!["code"]!);
        Assert.Equal("Echo: after", (string?)after["result"]!["content"]![0]!["text"]);
        Assert.Equal(0, proxy.ExitCode);
        await AssertAllTasksCompletedAsync();
    }
}
