using Microsoft.Data.Sqlite;

namespace Writ.EndToEnd.Tests;

/// <summary>
/// The quickstart story with real processes: a staging coding agent reads in staging, is refused
/// production and an unelevated delete, a copied token is useless without its key, and the audit
/// log verifies — until a row is edited in the database.
/// </summary>
public sealed class IncidentStoryTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "writ-e2e-" + Guid.NewGuid().ToString("N"));
    private ServerProcess _server = null!;
    private Dictionary<string, string> _admin = null!;
    private Dictionary<string, string> _agentMachine = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _server = await ServerProcess.StartAsync(_root);
        _admin = new() { ["WRIT_ADDR"] = _server.Addr, ["WRIT_TOKEN"] = _server.AdminToken, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "admin-config") };
        _agentMachine = new() { ["WRIT_ADDR"] = _server.Addr, ["XDG_CONFIG_HOME"] = Path.Combine(_root, "agent-config") };
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task IncidentStory_RunsAsTheQuickstartSays()
    {
        var list = await Writ.RunAsync(_admin, null, "agent", "list");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("coding-agent@staging", list.Stdout);

        var code = await Writ.RunAsync(_admin, null, "agent", "enroll-code", "coding-agent@staging");
        Assert.Equal(0, code.ExitCode);
        var enroll = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "coding-agent@staging", "--code", code.Stdout.Trim(), "--server", _server.Addr);
        Assert.True(enroll.ExitCode == 0, enroll.Stderr);
        var keyFile = Path.Combine(_root, "agent-config", "writ", "keys", "coding-agent@staging.json");
        Assert.True(File.Exists(keyFile), "the key lives under the config directory");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        var reused = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "coding-agent@staging", "--code", code.Stdout.Trim(), "--server", _server.Addr);
        Assert.NotEqual(0, reused.ExitCode);
        Assert.Contains("enroll.code_used", reused.Stderr);

        var task = await Writ.RunAsync(_agentMachine, null, "task", "start", "--purpose", "fix the staging credential mismatch", "--ticket", "OPS-1234", "--on-behalf-of", "dana@example.com");
        Assert.True(task.ExitCode == 0, task.Stderr);
        var taskId = task.Stdout.Trim();

        var read = await Writ.RunAsync(_agentMachine, null, "token", "--task", taskId, "--scope", "volumes:read", "--target", "vol-staging-db");
        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(2, read.Stdout.Trim().Count(c => c == '.'));

        var prod = await Writ.RunAsync(_agentMachine, null, "token", "--task", taskId, "--scope", "volumes:delete", "--target", "vol-prod-db", "--env", "production");
        Assert.Equal(1, prod.ExitCode);
        Assert.Contains("policy.environment_mismatch", prod.Stderr);
        Assert.Contains("coding-agent@staging cannot act in production", prod.Stderr);

        var delete = await Writ.RunAsync(_agentMachine, null, "token", "--task", taskId, "--scope", "volumes:delete", "--target", "vol-staging-db");
        Assert.Equal(1, delete.ExitCode);
        Assert.Contains("approval.justification_required", delete.Stderr);
        var elevation = await Writ.RunAsync(_agentMachine, null, "token", "--task", taskId, "--scope", "volumes:delete", "--target", "vol-staging-db",
            "--justification", "the staging database volume is corrupt after the migration");
        Assert.Equal(3, elevation.ExitCode);
        Assert.Contains("policy.elevation_required", elevation.Stderr);

        // The token copied to another process, without the agent's key, is refused.
        using (var http = new HttpClient())
        {
            var request = new HttpRequestMessage(HttpMethod.Get, _server.Addr + "/api/agent/credential");
            request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + read.Stdout.Trim());
            var response = await http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("dpop.missing", await response.Content.ReadAsStringAsync());
        }

        var tail = await Writ.RunAsync(_admin, null, "audit", "tail", "-n", "50");
        Assert.Equal(0, tail.ExitCode);
        Assert.Contains("elevation_required", tail.Stdout);
        Assert.Contains("ai-agent", tail.Stdout);

        var verify = await Writ.RunAsync(_admin, null, "audit", "verify");
        Assert.True(verify.ExitCode == 0, verify.Stdout + verify.Stderr);

        await using (var db = new SqliteConnection($"Data Source={Path.Combine(_server.DataDirectory, "writ.db")}"))
        {
            await db.OpenAsync();
            var edit = db.CreateCommand();
            edit.CommandText = "UPDATE audit_events SET decision = 'allow' WHERE decision = 'deny' AND reason = 'policy.environment_mismatch'";
            Assert.Equal(1, await edit.ExecuteNonQueryAsync());
        }
        var tampered = await Writ.RunAsync(_admin, null, "audit", "verify");
        Assert.Equal(1, tampered.ExitCode);
        Assert.Contains("edited", tampered.Stdout);

        Assert.DoesNotContain(_server.AdminToken, _server.Output.Replace("WRIT_TOKEN=" + _server.AdminToken, ""));
    }

    [Fact]
    public async Task Cli_BadInput_ExitsNonZeroWithAMessage()
    {
        var noToken = await Writ.RunAsync(new() { ["XDG_CONFIG_HOME"] = Path.Combine(_root, "empty") }, null, "agent", "list");
        Assert.Equal(2, noToken.ExitCode);
        Assert.Contains("no admin token", noToken.Stderr);

        var badFormat = await Writ.RunAsync(_admin, null, "agent", "list", "-o", "xml");
        Assert.Equal(2, badFormat.ExitCode);
        Assert.Contains("unknown output format", badFormat.Stderr);

        var missing = await Writ.RunAsync(_admin, null, "policy", "validate", Path.Combine(_root, "nope.yaml"));
        Assert.Equal(2, missing.ExitCode);

        var badYaml = Path.Combine(_root, "bad.yaml");
        await File.WriteAllTextAsync(badYaml, "agents:\n  bot@nowhere:\n    kind: ai-agent\n    owner: x@example.com\n    roles: []\n");
        var invalid = await Writ.RunAsync(_admin, null, "policy", "validate", badYaml);
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("bad.yaml:2:", invalid.Stderr);

        var noAgent = await Writ.RunAsync(new() { ["XDG_CONFIG_HOME"] = Path.Combine(_root, "empty") }, null, "token", "--task", "t", "--scope", "crm:read");
        Assert.Equal(2, noAgent.ExitCode);
        Assert.Contains("writ enroll", noAgent.Stderr);

        var badTtl = await Writ.RunAsync(_agentMachine, null, "task", "start", "--agent", "x@staging", "--purpose", "p", "--ttl", "forever");
        Assert.Equal(2, badTtl.ExitCode);

        var unreachable = await Writ.RunAsync(new() { ["WRIT_ADDR"] = "http://127.0.0.1:1", ["WRIT_TOKEN"] = "writ_admin_x" }, null, "agent", "list");
        Assert.Equal(2, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.Stderr);
    }

    [Fact]
    public async Task ResetAdminToken_RevokesEveryEarlierToken_AndIsAudited()
    {
        var earlier = _server.AdminToken;
        await _server.DisposeAsync();
        _server = await ServerProcess.StartAgainAsync(_root, _server.DataDirectory, "--reset-admin-token");
        var fresh = _server.AdminToken;

        var old = await Writ.RunAsync(new() { ["WRIT_ADDR"] = _server.Addr, ["WRIT_TOKEN"] = earlier }, null, "agent", "list");
        var now = await Writ.RunAsync(new() { ["WRIT_ADDR"] = _server.Addr, ["WRIT_TOKEN"] = fresh }, null, "audit", "search", "--action", "admin_token.reset", "-o", "json");

        Assert.NotEqual(earlier, fresh);
        Assert.Equal(1, old.ExitCode);
        Assert.Contains("refused", old.Stderr);
        Assert.Equal(0, now.ExitCode);
        Assert.Contains("admin_token.reset", now.Stdout);
    }

    [Fact]
    public async Task Cli_BrokenFilesAndWrongServers_SayWhatToFix_WithoutAStackTrace()
    {
        // A saved login that is not JSON.
        var broken = Path.Combine(_root, "broken-config");
        Directory.CreateDirectory(Path.Combine(broken, "writ"));
        await File.WriteAllTextAsync(Path.Combine(broken, "writ", "cli.json"), "{\"addr\":");
        var login = await Writ.RunAsync(new() { ["XDG_CONFIG_HOME"] = broken }, null, "agent", "list");
        Assert.Equal(2, login.ExitCode);
        Assert.Contains("writ login", login.Stderr);

        // An export to a directory, and an export the server refuses: an earlier export stays as it was.
        var dir = await Writ.RunAsync(_admin, null, "audit", "export", "-o", _root);
        Assert.Equal(2, dir.ExitCode);
        Assert.Contains("is a directory", dir.Stderr);
        var earlier = Path.Combine(_root, "audit.jsonl");
        await File.WriteAllTextAsync(earlier, "an earlier export\n");
        var refused = await Writ.RunAsync(new(_admin) { ["WRIT_TOKEN"] = "writ_admin_wrong" }, null, "audit", "export", "-o", earlier);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal("an earlier export\n", await File.ReadAllTextAsync(earlier));
        Assert.DoesNotContain(Directory.GetFiles(_root), f => f.EndsWith(".pending", StringComparison.Ordinal));

        // A key file that is a directory: refused before the one-time code is spent.
        var code = (await Writ.RunAsync(_admin, null, "agent", "enroll-code", "coding-agent@staging")).Stdout.Trim();
        var keyDir = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "coding-agent@staging", "--code", code, "--server", _server.Addr, "--key-file", _root);
        Assert.Equal(2, keyDir.ExitCode);
        Assert.Contains("is a directory", keyDir.Stderr);
        var enrolled = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "coding-agent@staging", "--code", code, "--server", _server.Addr);
        Assert.Equal(0, enrolled.ExitCode);

        // A gateway token to a path that cannot be written: refused before it is minted (it is shown once).
        var underAFile = await Writ.RunAsync(_admin, null, "gateway-token", "create", "edge-lost", "--out", Path.Combine(earlier, "token"));
        Assert.NotEqual(0, underAFile.ExitCode);
        var minted = await Writ.RunAsync(_admin, null, "audit", "search", "--action", "gateway.token_create", "-o", "json");
        Assert.Equal(0, minted.ExitCode);
        Assert.DoesNotContain("edge-lost", minted.Stdout);

        // A scan baseline that is not a writ report.
        var baseline = Path.Combine(_root, "baseline.json");
        await File.WriteAllTextAsync(baseline, "[]");
        var scan = await Writ.RunAsync(_admin, null, "scan", "--baseline", baseline, Path.Combine(_root, "broken-config"));
        Assert.Equal(2, scan.ExitCode);
        Assert.Contains("findings", scan.Stderr);

        // A scan report: written whole (beside the target, then moved), or refused for a directory.
        var report = Path.Combine(_root, "report.json");
        var written = await Writ.RunAsync(_admin, null, "scan", "--format", "json", "--output", report, Path.Combine(_root, "broken-config"));
        Assert.Equal(0, written.ExitCode);
        Assert.Equal(System.Text.Json.JsonValueKind.Array,
            System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement.GetProperty("findings").ValueKind);
        var toDir = await Writ.RunAsync(_admin, null, "scan", "--output", _root, Path.Combine(_root, "broken-config"));
        Assert.Equal(2, toDir.ExitCode);
        Assert.Contains("is a directory", toDir.Stderr);

        // Something at WRIT_ADDR that is not a Writ server (a captive portal answering every request with a page).
        using var portal = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        portal.Start();
        var serving = Task.Run(async () =>
        {
            while (true)
            {
                using var client = await portal.AcceptTcpClientAsync();
                var stream = client.GetStream();
                await stream.ReadAtLeastAsync(new byte[8192], 1, throwOnEndOfStream: false);
                var page = "<html><body>Welcome to the hotel wifi</body></html>";
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n{page}"));
            }
        });
        var wrong = await Writ.RunAsync(new() { ["WRIT_ADDR"] = $"http://127.0.0.1:{((System.Net.IPEndPoint)portal.LocalEndpoint).Port}", ["WRIT_TOKEN"] = "writ_admin_x" },
            null, "agent", "list");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("not what a Writ server sends", wrong.Stderr);

        foreach (var run in new[] { login, dir, refused, keyDir, underAFile, scan, toDir, wrong }) Assert.DoesNotContain("   at ", run.Stderr);
        _ = serving;
    }
}
