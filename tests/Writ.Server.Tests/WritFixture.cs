using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Writ.Client.Http;
using Writ.Client.Keys;
using Writ.Server.Hosting;

namespace Writ.Server.Tests;

/// <summary>
/// A real Writ server pipeline (TestHost) on a real SQLite file in a temp directory, dev mode, with a
/// test policy, a captured admin token and every log line captured for secret-leak checks.
/// </summary>
public sealed class WritFixture : IAsyncDisposable
{
    public const string Issuer = "http://localhost";

    public const string Policy = """
        environments:
          staging: {}
          production: {}
        resources:
          crm:
            actions: [read, write, delete]
            environments: [staging, production]
          volumes:
            actions: [read, write, delete, admin]
            environments: [staging, production]
            backup: volume-backups
          volume-backups:
            actions: [read, write, delete]
            environments: [staging, production]
        roles:
          support-reader:
            permissions:
              crm: [read]
            targets: ["customers/*"]
            max_ttl: 15m
          staging-developer:
            permissions:
              volumes: [read, write, delete]
            preapproved:
              volumes: [write]
        agents:
          coding-agent@staging:
            kind: ai-agent
            owner: dana@example.com
            roles: [staging-developer]
          support-bot@staging:
            kind: ai-agent
            owner: sam@example.com
            roles: [support-reader]
          support-bot@production:
            kind: ai-agent
            owner: sam@example.com
            roles: [support-reader]
          nightly-ci@staging:
            kind: ci
            owner: ops@example.com
            roles: []
        """;

    private readonly StringWriter _out = new();

    private WritFixture(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    public WebApplication App { get; private set; } = null!;

    public string AdminToken { get; private set; } = "";

    public CapturedLogs Logs { get; } = new();

    public static Task<WritFixture> StartAsync(string? policy = null) => StartAsync(policy, _ => { });

    /// <summary>As <see cref="StartAsync(string?)"/>, with <paramref name="configure"/> run last on the builder (e.g. to replace a service).</summary>
    public static async Task<WritFixture> StartAsync(string? policy, Action<WebApplicationBuilder> configure)
    {
        var dir = Path.Combine(Path.GetTempPath(), "writ-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var policyPath = Path.Combine(dir, "policy.yaml");
        await File.WriteAllTextAsync(policyPath, policy ?? Policy);
        var fixture = new WritFixture(dir);
        var options = new WritServerOptions
        {
            DataDirectory = Path.Combine(dir, "data"),
            Dev = true,
            Issuer = Issuer,
            InitialPolicyPath = policyPath,
            Out = fixture._out,
        };
        fixture.App = await WritServer.BuildAsync(options, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(fixture.Logs);
            configure(builder);
        });
        await fixture.App.StartAsync();
        var printed = fixture._out.ToString();
        var at = printed.IndexOf("WRIT_TOKEN=", StringComparison.Ordinal);
        fixture.AdminToken = printed[(at + "WRIT_TOKEN=".Length)..].Split('\n')[0].Trim();
        return fixture;
    }

    public TestServer Server => App.GetTestServer();

    public HttpClient Http() => Server.CreateClient();

    public WritAdminClient Admin() => new(Http(), new Uri(Issuer + "/"), AdminToken);

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>A password good enough for the server's rules; test users all share it (it is obviously fake).</summary>
    public const string TestPassword = "correct horse battery staple";

    /// <summary>Adds a user with <paramref name="roles"/> (through the API, as the bootstrap admin) and returns a client logged in as them.</summary>
    public async Task<WritAdminClient> UserAsync(string name, params string[] roles)
    {
        await Admin().AddUserAsync(name, roles, TestPassword);
        return await LoginAsync(name);
    }

    public async Task<WritAdminClient> LoginAsync(string name, string password = TestPassword)
    {
        var session = await WritAdminClient.LoginAsync(Http(), new Uri(Issuer + "/"), name, password);
        return new WritAdminClient(Http(), new Uri(Issuer + "/"), session.Token) { StepUpPassword = password };
    }

    /// <summary>Enrolls a fresh key for <paramref name="agentId"/> through the real API and returns a connected agent client.</summary>
    public async Task<TestAgent> EnrollAsync(string agentId)
    {
        var code = await Admin().CreateEnrollmentCodeAsync(agentId);
        var key = AgentKeyPair.Generate();
        await WritAgentClient.EnrollAsync(Http(), new Uri(Issuer + "/"), code.Code, key);
        return new TestAgent(agentId, key, new WritAgentClient(Http(), new Uri(Issuer + "/"), agentId, key));
    }

    public string DatabasePath => Path.Combine(DataDirectory, "data", "writ.db");

    public string PrintedOutput => _out.ToString();

    /// <summary>Makes every audit append fail from now on (a trigger that aborts inserts), to test invariant 7: fail closed.</summary>
    public Task BlockAuditAsync() =>
        ExecuteAsync("CREATE TRIGGER writ_test_block BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");

    /// <summary>Undoes <see cref="BlockAuditAsync"/>: the audit log takes records again.</summary>
    public Task UnblockAuditAsync() => ExecuteAsync("DROP TRIGGER writ_test_block;");

    private async Task ExecuteAsync(string sql)
    {
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath}");
        await db.OpenAsync();
        var command = db.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Every value of every table of the SQLite file as text (blobs both as base64 and as UTF-8), for
    /// tests that plant a secret and prove it is stored nowhere in the clear.
    /// </summary>
    public async Task<string> DumpDatabaseAsync()
    {
        var sb = new System.Text.StringBuilder();
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        await db.OpenAsync();
        var tables = new List<string>();
        var list = db.CreateCommand();
        list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        foreach (var table in tables)
        {
            var select = db.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                for (var i = 0; i < reader.FieldCount; i++)
                    sb.Append(reader.GetValue(i) is byte[] bytes ? Convert.ToBase64String(bytes) + System.Text.Encoding.UTF8.GetString(bytes) : reader.GetValue(i)?.ToString()).Append('\t');
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}

public sealed record TestAgent(string Id, AgentKeyPair Key, WritAgentClient Client);

/// <summary>Captures every log line (all levels, with exception text) so tests can grep for planted secrets.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
