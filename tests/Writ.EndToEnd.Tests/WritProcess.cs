using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Writ.EndToEnd.Tests;

/// <summary>Runs the real <c>writ</c> binary (the build output of Writ.Cli) as separate processes.</summary>
public static class Writ
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "writ.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(Dictionary<string, string> env, string? stdin, params string[] args)
    {
        var psi = Start(env, args);
        psi.RedirectStandardInput = true;
        using var process = Process.Start(psi)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Adds a person with <paramref name="role"/> (as the admin in <paramref name="admin"/>), logs them in with
    /// <c>writ login</c> from their own config directory, and returns the environment of their shell.
    /// </summary>
    public static async Task<Dictionary<string, string>> UserAsync(Dictionary<string, string> admin, string name, string role, string password, string configHome)
    {
        var added = await RunAsync(admin, password + "\n", "user", "add", name, "--role", role);
        Assert.True(added.ExitCode == 0, added.Stderr);
        var user = new Dictionary<string, string> { ["WRIT_ADDR"] = admin["WRIT_ADDR"], ["XDG_CONFIG_HOME"] = configHome };
        var login = await RunAsync(user, password + "\n", "login", "--user", name, "--addr", admin["WRIT_ADDR"]);
        Assert.True(login.ExitCode == 0, login.Stderr);
        return user;
    }

    public static ProcessStartInfo Start(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return psi;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// An <see cref="HttpListener"/> started on a free loopback port. A port found free can be taken by a process another
    /// test starts before this listener binds it: then another port is tried.
    /// </summary>
    public static (HttpListener Listener, int Port) StartLoopbackListener()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }
}

/// <summary>A <c>writ server --dev</c> process on a free loopback port, with its one-time admin token read from its output.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, string addr, string dataDirectory)
    {
        _process = process;
        Addr = addr;
        DataDirectory = dataDirectory;
    }

    public string Addr { get; }

    public string DataDirectory { get; }

    public string AdminToken { get; private set; } = "";

    public string Output { get { lock (_output) return _output.ToString(); } }

    public static async Task<ServerProcess> StartAsync(string root)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // A fresh data directory each time: --dev prints the one-time admin token only when it creates one.
                return await StartOnFreePortAsync(root, attempt == 1 ? "server-data" : $"server-data-{attempt}");
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // The port found free was taken by another test's process before the server bound it.
            }
        }
    }

    /// <summary>A server on the data directory another one left (stopped first), with <paramref name="extra"/> arguments.</summary>
    public static Task<ServerProcess> StartAgainAsync(string root, string dataDirectory, params string[] extra) =>
        StartOnFreePortAsync(root, Path.GetRelativePath(root, dataDirectory), extra);

    private static async Task<ServerProcess> StartOnFreePortAsync(string root, string dataName, params string[] extra)
    {
        var port = Writ.FreePort();
        var addr = $"http://127.0.0.1:{port}";
        var data = Path.Combine(root, dataName);
        var psi = Writ.Start(new Dictionary<string, string>(), ["server", "--dev", "--data", data, "--urls", addr, .. extra]);
        var process = Process.Start(psi)!;
        var server = new ServerProcess(process, addr, data);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException("writ server exited early:\n" + server.Output);
            try
            {
                if ((await http.GetAsync(addr + "/healthz")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        var output = server.Output;
        var at = output.IndexOf("WRIT_TOKEN=", StringComparison.Ordinal);
        if (at < 0) throw new InvalidOperationException("no admin token printed:\n" + output);
        server.AdminToken = output[(at + "WRIT_TOKEN=".Length)..].Split('\n')[0].Trim();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
