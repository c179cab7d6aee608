using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
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
/// DPoP. The proxy's task is completed (its credentials revoked) when the client disconnects or on SIGTERM. A write scope
/// behind <c>server-filesystem</c> needs a human: the proxy asks with its justification, serves nothing until alice decides,
/// and lasts as long as the approved credential.
/// </summary>
public sealed partial class McpProxyTests : IAsyncLifetime
{
    private const string Agent = "mcp-bot@staging";
    private const string Password = "correct horse battery staple";
    private const string Why = "write the release notes for OPS-12";
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "writ-e2e-mcp-" + Guid.NewGuid().ToString("N"));
    private ServerProcess _server = null!;
    private Dictionary<string, string> _agentMachine = null!;
    private WritAdminClient _admin = null!;
    private Dictionary<string, string> _alice = null!;

    private string Files => Path.Combine(_root, "files");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Files);
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
              files:
                actions: [read, write]
                environments:
                  staging:
                    mcp:
                      command: {{McpPeers.Node}}
                      args: ["{{McpPeers.Filesystem}}", "{{Files}}"]
                      tools:
                        read_text_file: { action: read, arguments: { path: { path: "{{Files}}/**", required: true } } }
                        write_file: { action: write, arguments: { path: { path: "{{Files}}/**", required: true } } }
            roles:
              mcp-user:
                permissions: { everything: [read], files: [read, write] }
                approvals: { files: { write: { approvers: [alice], justification: 20, max_grant: 30s } } }
            agents:
              {{Agent}}: { kind: ai-agent, owner: sam@example.com, roles: [mcp-user] }
            """);
        var applied = await Writ.RunAsync(admin, null, "apply", "-f", policy);
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        var code = await Writ.RunAsync(admin, null, "agent", "enroll-code", Agent);
        var enroll = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", Agent, "--code", code.Stdout.Trim(), "--server", _server.Addr);
        Assert.True(enroll.ExitCode == 0, enroll.Stderr);
        _alice = await Writ.UserAsync(admin, "alice", "approver", Password, Path.Combine(_root, "alice-config"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private Dictionary<string, string> ProxyEnvironment() => new(_agentMachine) { ["DOTNET_NOLOGO"] = "1" };

    private Process StartProxy(params string[] args)
    {
        var psi = Writ.Start(ProxyEnvironment(), ["mcp-proxy", .. args]);
        psi.RedirectStandardInput = true;
        return Process.Start(psi)!;
    }

    private static async Task SendAsync(Process proxy, params string[] lines)
    {
        foreach (var line in lines) await proxy.StandardInput.WriteLineAsync(line);
        await proxy.StandardInput.FlushAsync();
    }

    /// <summary>Reads the proxy's stderr up to the line matching <paramref name="pattern"/>; returns the match.</summary>
    private static async Task<string> StderrUntilAsync(Process proxy, Regex pattern)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new StringBuilder();
        while (await proxy.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.AppendLine(line);
            if (pattern.Match(line) is { Success: true } m) return m.Value;
        }
        throw new Xunit.Sdk.XunitException("the proxy's stderr ended without " + pattern + ":\n" + seen);
    }

    private static string WriteFile(int id, string path, string content) => new JsonObject
    {
        ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = "tools/call",
        ["params"] = new JsonObject { ["name"] = "write_file", ["arguments"] = new JsonObject { ["path"] = path, ["content"] = content } },
    }.ToJsonString();

    private static async Task<int> ExitAsync(Process proxy)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await proxy.WaitForExitAsync(timeout.Token);
        return proxy.ExitCode;
    }

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
        await proxy.StandardInput.WriteLineAsync(Initialize);
        await proxy.StandardInput.FlushAsync();
        var first = await proxy.StandardOutput.ReadLineAsync();
        Assert.Contains("\"serverInfo\"", first);
        Assert.Single(await _admin.ListTasksAsync(Agent, "open"));

        using (var kill = Process.Start("kill", ["-TERM", proxy.Id.ToString()])) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await proxy.WaitForExitAsync(timeout.Token);

        await AssertAllTasksCompletedAsync();
    }

    [Theory]
    [InlineData("{this is not json")]
    [InlineData("""{"jsonrpc":"2.0","id":5,"method":"\udc00"}""")] // parses, but the method is a lone surrogate
    public async Task McpProxy_MalformedLine_GetsJsonRpcErrorAndSessionContinues(string line)
    {
        var psi = Writ.Start(ProxyEnvironment(), "mcp-proxy", "everything");
        psi.RedirectStandardInput = true;
        using var proxy = Process.Start(psi)!;
        await proxy.StandardInput.WriteLineAsync(Initialize);
        await proxy.StandardInput.FlushAsync();
        await proxy.StandardOutput.ReadLineAsync();
        await proxy.StandardInput.WriteLineAsync(line);
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

    [Fact]
    public async Task McpProxy_WriteScope_WaitsForAHuman_ServesNothingMeanwhile_ThenWritesUntilTheApprovalEnds()
    {
        var target = Path.Combine(Files, "notes.txt");
        using var proxy = StartProxy("files", "--scope", "files:write", "--justification", Why);
        await SendAsync(proxy, Initialize, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
        var id = await StderrUntilAsync(proxy, ApprovalId());

        // Pending: the client's initialize and tools/list get no answer, and no credential exists.
        var first = proxy.StandardOutput.ReadLineAsync();
        await Task.WhenAny(first, Task.Delay(TimeSpan.FromSeconds(3)));
        Assert.False(first.IsCompleted, "nothing is served while the approval is pending");
        Assert.Empty((await _admin.GetAgentAsync(Agent)).ActiveCredentials);
        var show = await Writ.RunAsync(_alice, null, "approvals", "show", id);
        Assert.Contains(Why, show.Stdout);

        var approve = await Writ.RunAsync(_alice, Password + "\n", "approvals", "approve", id, "--reason", "release notes are due today");
        Assert.True(approve.ExitCode == 0, approve.Stderr);
        var until = DateTimeOffset.Parse(await StderrUntilAsync(proxy, GrantedUntil()), System.Globalization.CultureInfo.InvariantCulture);
        var initialized = JsonNode.Parse((await first.WaitAsync(TimeSpan.FromSeconds(60)))!)!;
        var tools = JsonNode.Parse((await proxy.StandardOutput.ReadLineAsync())!)!;
        await SendAsync(proxy, WriteFile(3, target, "approved"));
        var written = JsonNode.Parse((await proxy.StandardOutput.ReadLineAsync())!)!;

        // The approved credential's expiry is the session's limit: afterwards calls are refused and nothing is sent.
        await Task.Delay(until - DateTimeOffset.UtcNow > TimeSpan.Zero ? until - DateTimeOffset.UtcNow : TimeSpan.Zero);
        await SendAsync(proxy, WriteFile(4, target, "too late"));
        var late = JsonNode.Parse((await proxy.StandardOutput.ReadLineAsync())!)!;
        proxy.StandardInput.Close();

        Assert.Equal("writ/files", (string?)initialized["result"]!["serverInfo"]!["name"]);
        Assert.Equal(["write_file"], tools["result"]!["tools"]!.AsArray().Select(t => (string)t!["name"]!));
        Assert.Null(written["result"]!["isError"]);
        Assert.Equal("approved", await File.ReadAllTextAsync(target));
        Assert.Equal("mcp.approval_ended", (string?)late["error"]!["data"]!["code"]);
        Assert.Contains("--justification", (string?)late["error"]!["message"]);
        Assert.Equal(0, await ExitAsync(proxy));
        await AssertAllTasksCompletedAsync();
        var audit = await _admin.SearchAuditAsync(actor: Agent, action: "token.issue", limit: 100);
        Assert.Single(audit, a => a.Reason == "approval.granted"); // one approval, one credential: never asked again behind the human's back
    }

    [Fact]
    public async Task McpProxy_ApprovalDenied_ExitsNonZeroWithTheReason_AndServesNothing()
    {
        using var proxy = StartProxy("files", "--scope", "files:write", "--justification", Why);
        await SendAsync(proxy, Initialize);
        var id = await StderrUntilAsync(proxy, ApprovalId());

        var deny = await Writ.RunAsync(_alice, Password + "\n", "approvals", "deny", id, "--reason", "not before the freeze ends");
        Assert.True(deny.ExitCode == 0, deny.Stderr);
        var stdout = proxy.StandardOutput.ReadToEndAsync();
        var stderr = proxy.StandardError.ReadToEndAsync();

        Assert.Equal(1, await ExitAsync(proxy));
        Assert.Contains($"approval {id} for files:write was denied", await stderr);
        Assert.Contains("not before the freeze ends", await stderr);
        Assert.Equal("", await stdout);
        await AssertAllTasksCompletedAsync();
    }

    [Fact]
    public async Task McpProxy_ScopeNeedingAHuman_WithoutJustification_FailsBeforeServing()
    {
        var run = await Writ.RunAsync(ProxyEnvironment(), Initialize + "\n", "mcp-proxy", "files", "--scope", "files:write");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("files:write needs a human's approval", run.Stderr);
        Assert.Contains("add --justification", run.Stderr);
        Assert.Equal("", run.Stdout);
        await AssertAllTasksCompletedAsync();
    }

    [Fact]
    public async Task McpProxy_ClientLeavesWhilePending_StopsWaiting_AndCompletesTheTask()
    {
        var run = await Writ.RunAsync(ProxyEnvironment(), Initialize + "\n", "mcp-proxy", "files", "--scope", "files:write", "--justification", Why);

        Assert.Equal(1, run.ExitCode);
        Assert.Matches("closed stdin while apr_[A-Za-z0-9_-]+ was waiting for a human; stopped waiting", run.Stderr);
        Assert.Equal("", run.Stdout);
        await AssertAllTasksCompletedAsync();
    }

    [GeneratedRegex("apr_[A-Za-z0-9_-]+")]
    private static partial Regex ApprovalId();

    [GeneratedRegex(@"(?<=granted files:write until )[0-9-]+ [0-9:]+Z")]
    private static partial Regex GrantedUntil();
}
