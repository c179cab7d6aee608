using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using Writ.Client.Http;

namespace Writ.EndToEnd.Tests;

/// <summary>
/// <c>writ exec</c> with real processes: the command reaches the upstream through the gateway by its
/// <c>WRIT_CRM_URL</c> alone, never holds a token or the upstream secret, its exit code comes back, and its task
/// (with every credential) is closed when it ends.
/// </summary>
public sealed class ExecTests : IAsyncLifetime
{
    private const string UpstreamSecret = "sk_staging_E2E_PLANTED_5be0c1";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "writ-e2e-exec-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<(string Target, string? Authorization)> _received = new();
    private ServerProcess _server = null!;
    private HttpListener _upstream = null!;
    private Dictionary<string, string> _admin = null!;
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
            resources:
              crm:
                actions: [read]
                environments:
                  staging:
                    upstream: http://127.0.0.1:{{port}}/api/
                    credential: { secret: crm-staging, inject: { header: Authorization, template: "Bearer {secret}" } }
                    routes:
                      - { method: GET, path: "/customers/{account}", action: read }
                    account: { path_param: account }
            roles:
              crm-reader:
                permissions: { crm: [read] }
                restrictions: [no-cross-account]
            agents:
              support-bot@staging: { kind: ai-agent, owner: sam@example.com, roles: [crm-reader] }
            """);
        Assert.Equal(0, (await Writ.RunAsync(_admin, null, "apply", "-f", policy)).ExitCode);
        Assert.Equal(0, (await Writ.RunAsync(_admin, UpstreamSecret + "\n", "secret", "put", "crm-staging")).ExitCode);
        var code = await Writ.RunAsync(_admin, null, "agent", "enroll-code", "support-bot@staging");
        var enroll = await Writ.RunAsync(_agentMachine, null, "enroll", "--agent", "support-bot@staging", "--code", code.Stdout.Trim(), "--server", _server.Addr);
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
            _received.Enqueue((context.Request.RawUrl ?? "", context.Request.Headers["Authorization"]));
            var body = Encoding.UTF8.GetBytes("{\"customer\":\"12345\",\"name\":\"Ada\"}");
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = body.Length;
            await context.Response.OutputStream.WriteAsync(body);
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
    public async Task Exec_CommandReachesToolWithoutHoldingAnySecret_ExitCodePassesThrough_TaskClosed()
    {
        var envFile = Path.Combine(_root, "child-env.txt");
        var machine = new Dictionary<string, string>(_agentMachine) { ["WRIT_TOKEN"] = _server.AdminToken };

        var run = await Writ.RunAsync(machine, null, "exec", "--task", "look up customer 12345", "--scope", "crm:read", "--target", "customers/12345", "--",
            "sh", "-c", "curl -s \"$WRIT_CRM_URL/customers/12345\"; echo; curl -s -o /dev/null -w '%{http_code}' \"$WRIT_CRM_URL/customers/99999\"; echo; " +
            "curl -s -o /dev/null -w 'nocap=%{http_code}' \"${WRIT_CRM_URL%/*/*}/crm/customers/12345\"; echo; " +
            "curl -s -w 'climb=%{http_code}' --path-as-is -X POST \"$WRIT_CRM_URL/../../../oauth/token\"; echo; " +
            "curl -s -w 'climbenc=%{http_code}' --path-as-is -X POST \"$WRIT_CRM_URL/%2e%2e/%2e%2e/%2e%2e/oauth/token\"; echo; " +
            "curl -s -o /dev/null -w 'rebind=%{http_code}' -H 'Host: attacker.example' \"$WRIT_CRM_URL/customers/12345\"; echo; env > \"$0\"; exit 7", envFile);

        Assert.True(run.ExitCode == 7, $"exit {run.ExitCode}\n{run.Stdout}\n{run.Stderr}");
        Assert.Contains("{\"customer\":\"12345\",\"name\":\"Ada\"}", run.Stdout);
        Assert.Contains("403", run.Stdout); // another account: refused by the gateway (no-cross-account)
        Assert.Contains("nocap=403", run.Stdout); // the port without the run's random prefix: refused by the proxy
        // Dot segments cannot turn the proxy into a signer for /oauth/token: the proxy itself refuses them.
        Assert.Contains("writ exec: the path must stay under the tool's URL (no dot segments or backslashes)\nclimb=400", run.Stdout);
        Assert.Contains("writ exec: the path must stay under the tool's URL (no dot segments or backslashes)\nclimbenc=400", run.Stdout);
        Assert.Contains("rebind=403", run.Stdout); // another Host (DNS rebinding from a web page) is refused
        var got = Assert.Single(_received);
        Assert.Equal(("/api/customers/12345", "Bearer " + UpstreamSecret), got);

        var childEnv = await File.ReadAllTextAsync(envFile);
        Assert.Matches(@"WRIT_CRM_URL=http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]{32}/crm", childEnv);
        foreach (var observed in new[] { run.Stdout, run.Stderr, childEnv })
        {
            Assert.DoesNotContain(UpstreamSecret, observed);
            Assert.DoesNotContain(_server.AdminToken, observed);
            Assert.DoesNotContain("eyJ", observed); // no JWT (access token or proof) anywhere the command can see
        }

        var admin = Admin();
        var tasks = await admin.ListTasksAsync("support-bot@staging", null);
        Assert.Equal("completed", Assert.Single(tasks).Status);
        var agent = await admin.GetAgentAsync("support-bot@staging");
        Assert.Empty(agent.ActiveCredentials);
    }

    [Theory]
    [InlineData("TERM", 143, "exec sleep 300")] // a service manager or `kill` stopping writ
    [InlineData("INT", 130, "exec sleep 300")]  // Ctrl+C sent to writ alone (no terminal: the command did not get it too)
    [InlineData("HUP", 129, "exec sleep 300")]  // the terminal went away
    [InlineData("TERM", 137, "trap '' TERM; while :; do sleep 1; done")] // a command deaf to SIGTERM: killed after the grace period
    public async Task Exec_SignalledWhileTheCommandRuns_StopsItAndClosesTheTask(string signal, int exitCode, string script)
    {
        var pidFile = Path.Combine(_root, "child.pid");
        var psi = Writ.Start(_agentMachine, "exec", "--task", "long job", "--scope", "crm:read", "--target", "customers/12345", "--",
            "sh", "-c", "exec </dev/null >/dev/null 2>&1; echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\" && " + script, pidFile);
        psi.RedirectStandardInput = true;
        using var writ = Process.Start(psi)!;
        var stderr = writ.StandardError.ReadToEndAsync();
        _ = writ.StandardOutput.ReadToEndAsync();
        var child = 0;
        try
        {
            child = await ReadPidAsync(pidFile, writ);
            var admin = Admin();
            Assert.Equal("open", Assert.Single(await admin.ListTasksAsync("support-bot@staging", null)).Status);
            Assert.NotEmpty((await admin.GetAgentAsync("support-bot@staging")).ActiveCredentials);

            using (var kill = Process.Start("kill", ["-" + signal, writ.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await writ.WaitForExitAsync(timeout.Token);

            var errors = await stderr.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(writ.ExitCode == exitCode, $"exit {writ.ExitCode}\n{errors}");
            Assert.False(IsRunning(child), "the command outlived writ");
            Assert.Equal("completed", Assert.Single(await admin.ListTasksAsync("support-bot@staging", null)).Status);
            Assert.Empty((await admin.GetAgentAsync("support-bot@staging")).ActiveCredentials);
        }
        finally
        {
            if (!writ.HasExited) writ.Kill(entireProcessTree: true);
            if (child > 0 && IsRunning(child)) Process.GetProcessById(child).Kill();
        }
    }

    [Fact]
    public async Task Exec_CtrlCTypedAtATerminal_StopsTheCommandOnceAndClosesTheTask()
    {
        // Under a pseudo-terminal (util-linux script), ^C makes the terminal signal its whole foreground group, writ and
        // the command alike: writ must not send a second SIGINT (many tools take a second ^C as "kill now").
        var (log, pidFile) = (Path.Combine(_root, "signals.log"), Path.Combine(_root, "child.pid"));
        using var terminal = StartUnderTerminal("trap 'echo int >> \"$1\"; sleep 1; exit 3' INT; while :; do sleep 0.1; done", pidFile, log);
        var child = 0;
        try
        {
            child = await ReadPidAsync(pidFile, terminal);
            await TypeCtrlCAsync(terminal);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await terminal.WaitForExitAsync(timeout.Token);

            Assert.Equal(3, terminal.ExitCode); // the command's own exit code, from its INT trap
            Assert.Equal("int", (await File.ReadAllTextAsync(log)).Trim());
            Assert.False(IsRunning(child));
            Assert.Equal("completed", Assert.Single(await Admin().ListTasksAsync("support-bot@staging", null)).Status);
        }
        finally
        {
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
            if (child > 0 && IsRunning(child)) Process.GetProcessById(child).Kill();
        }
    }

    [Fact]
    public async Task Exec_CtrlCAtATerminal_ThatTheCommandSurvives_StartsNoKillClock()
    {
        // A REPL or a shell carries on after ^C: writ must not kill it 10 s later, nor on the next ^C.
        var (log, pidFile) = (Path.Combine(_root, "repl.log"), Path.Combine(_root, "repl.pid"));
        var stop = Path.Combine(_root, "repl.stop");
        using var terminal = StartUnderTerminal($"trap 'echo int >> \"$1\"' INT; while [ ! -e '{stop}' ]; do sleep 0.1; done; exit 0", pidFile, log);
        var child = 0;
        try
        {
            child = await ReadPidAsync(pidFile, terminal);
            await TypeCtrlCAsync(terminal);
            await Task.Delay(ExecGrace + TimeSpan.FromSeconds(2));
            await TypeCtrlCAsync(terminal);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.True(IsRunning(child), "the command was killed after a ^C it survived");
            Assert.Equal("int\nint", (await File.ReadAllTextAsync(log)).Trim());

            await File.WriteAllTextAsync(stop, "");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await terminal.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, terminal.ExitCode);
            Assert.Equal("completed", Assert.Single(await Admin().ListTasksAsync("support-bot@staging", null)).Status);
        }
        finally
        {
            if (!terminal.HasExited) terminal.Kill(entireProcessTree: true);
            if (child > 0 && IsRunning(child)) Process.GetProcessById(child).Kill();
        }
    }

    private static readonly TimeSpan ExecGrace = TimeSpan.FromSeconds(10);

    private WritAdminClient Admin() => new(new HttpClient(), new Uri(_server.Addr + "/"), _server.AdminToken);

    /// <summary>
    /// <c>writ exec -- sh -c SCRIPT PIDFILE LOG</c> under a pseudo-terminal (util-linux <c>script</c>); the script first
    /// writes its pid to PIDFILE ($0) and can log to LOG ($1).
    /// </summary>
    private Process StartUnderTerminal(string script, string pidFile, string log)
    {
        static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var childScript = "echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"; " + script;
        // "exec": the shell script starts (SHELL, or /bin/sh) must not stay in the foreground group between the terminal
        // and writ — dash does not exec a -c command itself and dies of the ^C, which would end the run with 130.
        var line = "exec " + string.Join(' ', new[] { "dotnet", Writ.Dll, "exec", "--task", "interactive", "--scope", "crm:read", "--target", "customers/12345", "--",
            "sh", "-c", childScript, pidFile, log }.Select(Quote));
        var psi = Writ.Start(_agentMachine);
        psi.FileName = "script";
        psi.Environment["SHELL"] = "/bin/sh"; // the same shell on every machine
        psi.ArgumentList.Clear();
        foreach (var a in new[] { "-qfec", line, "/dev/null" }) psi.ArgumentList.Add(a);
        psi.RedirectStandardInput = true;
        var terminal = Process.Start(psi)!;
        _ = terminal.StandardOutput.ReadToEndAsync();
        _ = terminal.StandardError.ReadToEndAsync();
        return terminal;
    }

    private static async Task TypeCtrlCAsync(Process terminal)
    {
        await terminal.StandardInput.WriteAsync('\u0003');
        await terminal.StandardInput.FlushAsync();
    }

    private static async Task<int> ReadPidAsync(string file, Process writ)
    {
        for (var i = 0; i < 600 && !writ.HasExited; i++)
        {
            if (File.Exists(file) && int.TryParse((await File.ReadAllTextAsync(file)).Trim(), out var pid)) return pid;
            await Task.Delay(50);
        }
        throw new InvalidOperationException("the command never started");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Exec_ThroughAStandaloneGateway_ReachesTheTool_AuditedOnTheServerNamingTheGateway()
    {
        var tokenFile = Path.Combine(_root, "edge.token");
        var minted = await Writ.RunAsync(_admin, null, "gateway-token", "create", "edge", "--environment", "staging", "--out", tokenFile);
        Assert.True(minted.ExitCode == 0, minted.Stderr);
        Assert.DoesNotContain("writ_gateway_", minted.Stdout + minted.Stderr); // written to the file only
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));

        var gatewayAddr = $"http://127.0.0.1:{Writ.FreePort()}";
        using var gateway = Process.Start(Writ.Start(new Dictionary<string, string>(), "gateway", "--server", _server.Addr, "--token-file", tokenFile, "--urls", gatewayAddr))!;
        var gatewayOutput = new StringBuilder();
        gateway.OutputDataReceived += (_, e) => { lock (gatewayOutput) gatewayOutput.AppendLine(e.Data); };
        gateway.ErrorDataReceived += (_, e) => { lock (gatewayOutput) gatewayOutput.AppendLine(e.Data); };
        gateway.BeginOutputReadLine();
        gateway.BeginErrorReadLine();
        try
        {
            using (var http = new HttpClient())
            {
                for (var i = 0; i < 300; i++)
                {
                    Assert.False(gateway.HasExited, "writ gateway exited:\n" + gatewayOutput);
                    try
                    {
                        if ((await http.GetAsync(gatewayAddr + "/healthz")).IsSuccessStatusCode) break;
                    }
                    catch (HttpRequestException)
                    {
                    }
                    await Task.Delay(100);
                }
            }

            var run = await Writ.RunAsync(_agentMachine, null, "exec", "--gateway", gatewayAddr, "--task", "via the edge gateway", "--scope", "crm:read",
                "--target", "customers/12345", "--", "sh", "-c", "curl -s \"$WRIT_CRM_URL/customers/12345\"; echo; curl -s -o /dev/null -w 'other=%{http_code}' \"$WRIT_CRM_URL/customers/99999\"");

            Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.Stdout}\n{run.Stderr}\n{gatewayOutput}");
            Assert.Contains("{\"customer\":\"12345\",\"name\":\"Ada\"}", run.Stdout);
            Assert.Contains("other=403", run.Stdout);
            Assert.Equal(("/api/customers/12345", "Bearer " + UpstreamSecret), Assert.Single(_received));
            var audit = await Admin().SearchAuditAsync(action: "gateway.call", limit: 20);
            Assert.Equal(2, audit.Count);
            Assert.All(audit, e => Assert.Contains("\"via\":\"gateway:edge@staging\"", e.Details));
            Assert.Contains(await Admin().SearchAuditAsync(action: "secret.read", limit: 20), e => e.ActorId == "gateway:edge@staging" && e.Target == "crm-staging");
            Assert.DoesNotContain(UpstreamSecret, gatewayOutput.ToString());
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Gateway_TokenFileReadableByOthers_IsRefusedWithTheFix()
    {
        var tokenFile = Path.Combine(_root, "loose.token");
        await File.WriteAllTextAsync(tokenFile, "writ_gateway_not_a_real_token_0000000000000000000");
        File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var run = await Writ.RunAsync(new Dictionary<string, string>(), null, "gateway", "--server", _server.Addr, "--token-file", tokenFile, "--urls", $"http://127.0.0.1:{Writ.FreePort()}");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("chmod 600", run.Stderr);
        Assert.DoesNotContain("writ_gateway_not_a_real_token", run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task Exec_CommandNotFound_Exits127AndClosesTheTask()
    {
        var run = await Writ.RunAsync(_agentMachine, null, "exec", "--task", "t", "--scope", "crm:read", "--target", "customers/12345", "--", "/nonexistent/cmd");

        Assert.Equal(127, run.ExitCode);
        var admin = Admin();
        Assert.All(await admin.ListTasksAsync("support-bot@staging", null), t => Assert.Equal("completed", t.Status));
    }
}
