using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Agents;
using Writ.Server.Auth;
using Writ.Server.Gateway;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.OAuth;
using Writ.Server.Secrets;

namespace Writ.Server.GatewayHost;

public sealed class WritGatewayOptions
{
    /// <summary>The Writ server this gateway follows (https, or http on loopback).</summary>
    public required Uri Server { get; init; }

    /// <summary>The gateway token (<c>writ_gateway_…</c>) an admin minted with <c>writ gateway-token create</c>.</summary>
    public required string Token { get; init; }

    public string Urls { get; init; } = "http://127.0.0.1:8431";

    /// <summary>The URL agents call this gateway by (their DPoP proofs' <c>htu</c>); default: the first of <see cref="Urls"/>.</summary>
    public string? PublicUrl { get; init; }

    public string PublicUrlOrDefault => (PublicUrl ?? Urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0]).TrimEnd('/');
}

/// <summary>
/// <c>writ gateway</c>: the tool gateway (<c>/gw/{resource}/{path}</c>) on its own, near the upstreams, with every check
/// the server's does — the same <see cref="GatewayEndpoints"/> — over what it receives from the server: tokens verified
/// offline with the server's signing keys, the policy in force, liveness (revocation, task, agent) remembered between
/// changes the server announces, secrets fetched (audited) and held in memory, and audit records sent to the server,
/// which makes them durable before the gateway forwards anything. It stores nothing on disk.
/// </summary>
public static class WritGateway
{
    public static async Task<WebApplication> BuildAsync(WritGatewayOptions options, Action<WebApplicationBuilder>? configure = null, HttpMessageHandler? serverHandler = null, CancellationToken ct = default)
    {
        foreach (var url in options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || (u.Scheme != Uri.UriSchemeHttp && u.Scheme != Uri.UriSchemeHttps))
                throw new GatewayStartupException($"--urls '{url}' is not an http(s) URL to listen on, e.g. http://127.0.0.1:8431");
        }
        if (!Uri.TryCreate(options.PublicUrlOrDefault, UriKind.Absolute, out _)) throw new GatewayStartupException("--public-url must be an absolute URL");
        var link = new ServerLink(options.Server, options.Token, serverHandler);

        var builder = WritServer.CreateBuilder(options.Urls);

        var clock = TimeProvider.System;
        var view = new StatusView(new RemoteLiveness(link), enabled: false);
        var s = builder.Services;
        s.AddSingleton(clock);
        s.AddSingleton(link);
        s.AddSingleton(new ServerContext(options.PublicUrlOrDefault));
        // Batches of at most 64 records keep each POST far below the server's body limit, whatever the records hold.
        s.AddSingleton(_ => new AuditWriter(new RemoteAuditAppender(link), maxBatch: 64));
        s.AddSingleton<AuditLog>();
        s.AddSingleton<PolicyHolder>();
        s.AddSingleton<GatewayKeys>();
        s.AddSingleton<RemoteSecrets>();
        s.AddSingleton<IUpstreamSecrets>(sp => sp.GetRequiredService<RemoteSecrets>());
        s.AddSingleton(view);
        s.AddSingleton<FeedFollower>();
        s.AddHostedService(sp => sp.GetRequiredService<FeedFollower>());
        s.AddSingleton<IDpopReplayCache, MemoryDpopReplayCache>();
        s.AddSingleton(sp => new DpopProofValidator(sp.GetRequiredService<IDpopReplayCache>(), clock, new DpopOptions()));
        // The issuer is the server's, known once the first state has arrived (before the gateway serves).
        s.AddSingleton(sp => new AccessTokenValidator(kid => sp.GetRequiredService<GatewayKeys>().PublicKey(kid), clock,
            sp.GetRequiredService<FeedFollower>().Issuer, TimeSpan.FromSeconds(30)));
        s.AddSingleton(new ServedEnvironment());
        s.AddSingleton<TokenStatus>();
        s.AddSingleton<BoundTokenAuthenticator>();
        s.AddSingleton(new GatewayOptions());
        s.AddSingleton<UpstreamForwarder>();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<ErrorHandlingMiddleware>();
        var follower = app.Services.GetRequiredService<FeedFollower>();
        app.Use((http, next) => follower.InStep
            ? next(http)
            : Problems.WriteAsync(http, 503, "gateway.out_of_step", "the gateway is not in step with the Writ server (unreachable, or a change it could not apply), so it refuses every call"));
        app.MapGateway();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapFallback((HttpContext http) => Problems.Of(404, "request.not_found", $"no endpoint {http.Request.Method} {AgentEndpoints.Bounded(http.Request.Path.Value ?? "")} (this is a Writ gateway: /gw/RESOURCE/PATH)"));

        try
        {
            await app.Services.GetRequiredService<FeedFollower>().SyncAsync(ct);
        }
        catch (Exception e) when (e is HttpRequestException or Client.Http.WritApiException or InvalidOperationException or System.Text.Json.JsonException)
        {
            await app.DisposeAsync();
            throw new GatewayStartupException(e is Client.Http.WritApiException { Code: "auth.invalid_token" }
                ? "the server refused the gateway token (revoked, or never issued): mint one with `writ gateway-token create NAME`"
                : $"cannot load the state from {link.Server.GetLeftPart(UriPartial.Authority)}: {e.Message}");
        }
        return app;
    }

    /// <summary>Builds, starts and runs until <paramref name="ct"/> is cancelled (Ctrl+C).</summary>
    public static async Task RunAsync(WritGatewayOptions options, CancellationToken ct)
    {
        await using var app = await BuildAsync(options, ct: ct);
        await app.RunAsync(ct);
    }
}
