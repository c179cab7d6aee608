using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Writ.Storage.Tests;

/// <summary>
/// A real PostgreSQL server for the tests. With <c>WRIT_TEST_POSTGRES</c> set (an Npgsql connection string of a
/// role that may create databases) that server is used; otherwise a throw-away cluster is created with the
/// Debian packages' <c>initdb</c>/<c>pg_ctl</c> in a temp dir, listening on a free loopback port and on a unix
/// socket in the same dir, and stopped and deleted at the end. Missing binaries fail the tests: never a silent skip.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private string? _dir;
    private string? _binDir;
    private string _adminConnectionString = "";

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("WRIT_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(external))
        {
            _adminConnectionString = external;
            return;
        }

        _binDir = FindBinDir() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. " +
            "Install the Debian 'postgresql' package (apt-get install postgresql; test.sh at the repo root does it), " +
            "or set WRIT_TEST_POSTGRES to a connection string of a server the tests may create databases on.");

        _dir = Directory.CreateTempSubdirectory("writ-pg-").FullName;
        var data = Path.Combine(_dir, "data");
        var port = FreePort();
        var asRoot = Environment.UserName == "root";
        if (asRoot) await RunAsync("chown", ["-R", "postgres:postgres", _dir]);

        await RunPgAsync(asRoot, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
        await RunPgAsync(asRoot, "pg_ctl",
        [
            "-D", data, "-l", Path.Combine(_dir, "postgres.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {_dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB",
            "start",
        ]);
        _adminConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false";
    }

    /// <summary>Creates an empty database with a random name and returns its Npgsql connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "writ_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var c = new NpgsqlConnection(_adminConnectionString))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name, Pooling = true }.ToString();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_dir is null || _binDir is null) return;
        try
        {
            var asRoot = Environment.UserName == "root";
            await RunPgAsync(asRoot, "pg_ctl", ["-D", Path.Combine(_dir, "data"), "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string? FindBinDir()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
            .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
            .FirstOrDefault();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>initdb refuses to run as root: as root, run the PostgreSQL tools as the 'postgres' OS user.</summary>
    private Task RunPgAsync(bool asRoot, string tool, string[] args)
    {
        var exe = Path.Combine(_binDir!, tool);
        return asRoot ? RunAsync("runuser", ["-u", "postgres", "--", exe, .. args]) : RunAsync(exe, args);
    }

    private static async Task RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}.");
        // pg_ctl's server writes to its -l log file, so these pipes close when pg_ctl itself exits.
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(timeout.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {await stdout} {await stderr}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
