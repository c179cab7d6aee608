using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// The real MCP peers from npm (tests/mcp-peers: server-filesystem, server-everything, the TypeScript SDK, and a small
/// misbehaving server). test.sh installs them; when they or node are missing the tests fail with what to run — never
/// a silent skip.
/// </summary>
public static class McpPeers
{
    public static string Directory { get; } = Path.Combine(RepoRoot(), "tests", "mcp-peers");

    public static string Filesystem => Require("node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");

    public static string Everything => Require("node_modules/@modelcontextprotocol/server-everything/dist/index.js");

    public static string Evil => Require("evil-server.mjs");

    public static string Node { get; } = FindNode();

    private static string Require(string relative)
    {
        var path = Path.Combine(Directory, relative);
        if (!File.Exists(path))
            throw new InvalidOperationException($"MCP test peer missing: {path}. Run ./test.sh (it installs them), or: cd tests/mcp-peers && npm ci");
        return path;
    }

    private static string FindNode()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, "node");
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("node is not on PATH: the MCP gateway tests need Node.js 18+ (Debian: apt-get install nodejs npm), then ./test.sh");
    }

    private static string RepoRoot([CallerFilePath] string thisFile = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(thisFile)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Writ.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Writ.slnx) not found");
    }

    /// <summary>Runs a node script from tests/mcp-peers and returns its exit code and output.</summary>
    public static async Task<(int Code, string Out, string Err)> RunNodeAsync(string script, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo(Node) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Require(script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
