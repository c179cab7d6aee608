using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Core.Crypto;
using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.Agents;
using Writ.Server.AuditApi;
using Writ.Server.Auth;
using Writ.Server.Credentials;
using Writ.Server.Gateway;
using Writ.Server.GatewayApi;
using Writ.Server.Http;
using Writ.Server.Keys;
using Writ.Server.Mcp;
using Writ.Server.OAuth;
using Writ.Server.PolicyApi;
using Writ.Server.Secrets;
using Writ.Server.Tasks;
using Writ.Server.Approvals;
using Writ.Server.Humans;
using Writ.Server.Webhooks;
using Writ.Storage;

namespace Writ.Server.Hosting;

/// <summary>
/// Builds and starts one <c>writ server</c> process. Reads like a table of contents: open storage,
/// load keys and policy, register services, map each feature's endpoints.
/// </summary>
public static class WritServer
{
    public static async Task<WebApplication> BuildAsync(WritServerOptions options, Action<WebApplicationBuilder>? configure = null, CancellationToken ct = default)
    {
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new WritStartupException(string.Join("; ", problems));

        Directory.CreateDirectory(options.DataDirectory);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var masterKey = LoadMasterKey(options);
        var opened = await WritStores.Open(options.DatabaseOrDefault, ct);
        // Token liveness is remembered between calls only where this process is the database's only writer (SQLite).
        var statusView = new StatusView(opened, enabled: opened.Engine == "sqlite");
        GatewayFeed? feed = null; // made by the container below; a write before then has no gateway to tell
        IWritStore store = new StatusTrackingStore(opened, async () =>
        {
            statusView.Invalidate();
            if (feed is not null) await feed.PublishAsync();
        });

        var builder = CreateBuilder(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = PolicyEndpoints.MaxPolicyBytes + 64 * 1024);

        var clock = TimeProvider.System;
        var server = new ServerContext(options.IssuerOrDefault);
        var s = builder.Services;
        s.AddSingleton(options);
        s.AddSingleton(clock);
        s.AddSingleton(server);
        s.AddSingleton(masterKey);
        s.AddSingleton(store);
        // Created by the container so that disposing the app commits what is still queued (deferred outcomes).
        s.AddSingleton(_ => new AuditWriter(store.Audit));
        s.AddSingleton<AuditLog>();
        s.AddSingleton<PolicyHolder>();
        s.AddSingleton<PolicyService>();
        s.AddSingleton<SigningKeyRing>();
        s.AddSingleton<IDpopReplayCache, MemoryDpopReplayCache>();
        s.AddSingleton(sp => new DpopProofValidator(sp.GetRequiredService<IDpopReplayCache>(), clock, new DpopOptions()));
        s.AddSingleton(sp => new ClientAssertionValidator(sp.GetRequiredService<IDpopReplayCache>(), clock, server.Issuer));
        s.AddSingleton(sp => new AccessTokenValidator(kid => sp.GetRequiredService<SigningKeyRing>().PublicKey(kid), clock, server.Issuer, TimeSpan.FromSeconds(30)));
        s.AddSingleton<AgentAuthenticator>();
        s.AddSingleton<TokenEndpoint>();
        s.AddSingleton(statusView);
        s.AddSingleton(new ServedEnvironment());
        s.AddSingleton<TokenStatus>();
        s.AddSingleton<BoundTokenAuthenticator>();
        s.AddSingleton<GatewayFeed>();
        s.AddSingleton<GatewayProofs>();
        s.AddSingleton<SecretVault>();
        s.AddSingleton<IUpstreamSecrets>(sp => sp.GetRequiredService<SecretVault>());
        s.AddSingleton(new GatewayOptions());
        s.AddSingleton<UpstreamForwarder>();
        s.AddSingleton(new McpOptions());
        s.AddSingleton<McpDownstreamPool>();
        s.AddSingleton<McpSessions>();
        s.AddSingleton<McpGateway>();
        s.AddSingleton<AuditCheckpointer>();
        s.AddHostedService(sp => sp.GetRequiredService<AuditCheckpointer>());
        s.AddHostedService<TaskExpiryService>();
        s.AddSingleton(LoadWebhookSettings(options));
        s.AddSingleton<ApprovalNotifier>();
        s.AddSingleton<PasswordCheck>();
        s.AddSingleton<WebhookDispatcher>();
        s.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        s.AddSingleton<ApprovalMaintenance>();
        s.AddHostedService(sp => sp.GetRequiredService<ApprovalMaintenance>());
        configure?.Invoke(builder);

        var app = builder.Build();
        feed = app.Services.GetRequiredService<GatewayFeed>();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        app.MapOAuth();
        app.MapAgents();
        app.MapTasks();
        app.MapPolicy();
        app.MapAudit();
        app.MapKeys();
        app.MapCredentials();
        app.MapSecrets();
        app.MapGateway();
        app.MapGatewayApi();
        app.MapUsers();
        app.MapApprovals();
        app.MapWebhooks();
        app.MapMcp();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapFallback((HttpContext http) => Problems.Of(404, "request.not_found", $"no endpoint {http.Request.Method} {AgentEndpoints.Bounded(http.Request.Path.Value ?? "")}"));

        await InitializeAsync(app, options, ct);
        return app;
    }

    /// <summary>The host both <c>writ server</c> and <c>writ gateway</c> run on: Kestrel on <paramref name="urls"/>, no Server header, quiet framework logs.</summary>
    internal static WebApplicationBuilder CreateBuilder(string urls)
    {
        // No configuration reload: it watches the content root (the working directory, often '/' or a workspace)
        // recursively, so every file written anywhere below it (the audit WAL included) woke the server.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            // The gateways relay an upstream's response headers. HttpClient reads header bytes as Latin-1, so writing them
            // back as Latin-1 passes them on unchanged (a UTF-8 file name in Content-Disposition); Kestrel's default, ASCII
            // only, threw on such a header: a 500 for the agent. Control characters (CR, LF) are still refused.
            k.ResponseHeaderEncodingSelector = static _ => Encoding.Latin1;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        return builder;
    }

    /// <summary>Loads keys and policy; in dev mode also applies the demo policy and prints a one-time admin token.</summary>
    private static async Task InitializeAsync(WebApplication app, WritServerOptions options, CancellationToken ct)
    {
        var sp = app.Services;
        await sp.GetRequiredService<SigningKeyRing>().LoadAsync(ct);
        var policies = sp.GetRequiredService<PolicyService>();
        if (!await policies.LoadLatestAsync(ct))
        {
            var initial = options.InitialPolicyPath is not null
                ? Core.Policy.PolicyLoader.ReadPath(options.InitialPolicyPath)
                : options.Dev ? [DemoPolicy.Source] : null;
            if (initial is not null)
            {
                var applied = await policies.ApplyAsync(initial, ActorKinds.System, "writ", ct);
                if (!applied.IsSuccess) throw new WritStartupException(applied.Error!.Message);
            }
        }
        if (options.Dev) await DevAdminToken.EnsureAsync(sp.GetRequiredService<IWritStore>(), options, sp.GetRequiredService<TimeProvider>(), ct);
    }

    private static MasterKey LoadMasterKey(WritServerOptions options)
    {
        var path = options.MasterKeyPathOrDefault;
        if (File.Exists(path)) return MasterKey.Load(path);
        if (!options.Dev)
            throw new WritStartupException($"no master key at {path}: start once with --dev to create one, or create it with `writ server --dev --data {options.DataDirectory}`, or pass --master-key");
        return MasterKey.CreateFile(path);
    }

    /// <summary>
    /// Webhook URLs come from the options; the signing key from <c>--webhook-key</c> (a file, 0600) or, in dev mode,
    /// <c>DATA/webhook.key</c>, made on first use. Without URLs there is nothing to sign.
    /// </summary>
    private static WebhookSettings LoadWebhookSettings(WritServerOptions options)
    {
        if (options.WebhookUrls.Count == 0) return new WebhookSettings();
        var path = options.WebhookKeyPath ?? Path.Combine(options.DataDirectory, "webhook.key");
        if (!File.Exists(path))
        {
            if (options.WebhookKeyPath is not null) throw new WritStartupException($"no webhook key at {path}: write 32 random bytes, base64, mode 0600");
            KeyFiles.CreatePrivate(path, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        }
        byte[] bytes;
        try { bytes = KeyFiles.ReadPrivate(path, "webhook key"); }
        catch (InvalidOperationException e) { throw new WritStartupException(e.Message); }
        if (bytes.Length < 16) throw new WritStartupException($"the webhook key in {path} is too short: use 32 random bytes, base64");
        return new WebhookSettings { Urls = options.WebhookUrls, SigningKey = bytes };
    }

    /// <summary>Builds, starts and runs until <paramref name="ct"/> is cancelled (Ctrl+C).</summary>
    public static async Task RunAsync(WritServerOptions options, CancellationToken ct)
    {
        await using var app = await BuildAsync(options, ct: ct);
        await app.RunAsync(ct);
    }
}

/// <summary>The server cannot start; the message says what to fix.</summary>
public sealed class WritStartupException(string message) : Exception(message);
