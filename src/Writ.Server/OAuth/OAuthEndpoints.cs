using Writ.Core.Humans;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Writ.Client.Http;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.Keys;

namespace Writ.Server.OAuth;

/// <summary>The OAuth endpoints: token (RFC 6749), introspection (RFC 7662), revocation (RFC 7009), metadata (RFC 8414), JWKS.</summary>
internal static class OAuthEndpoints
{
    public static IEndpointRouteBuilder MapOAuth(this IEndpointRouteBuilder app)
    {
        app.MapPost("/oauth/token", (HttpContext http, TokenEndpoint endpoint) => endpoint.HandleAsync(http));

        app.MapGroup("/oauth/introspect").RequireHuman(HumanRoles.Admin, HumanRoles.Auditor).MapPost("", IntrospectAsync);
        app.MapPost("/oauth/revoke", RevokeAsync);

        app.MapGet("/.well-known/jwks.json", (SigningKeyRing keys) => Results.Text(keys.JwksJson, "application/jwk-set+json"));
        app.MapGet("/.well-known/oauth-authorization-server", (ServerContext server) => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = server.Issuer,
            ["token_endpoint"] = server.TokenEndpoint,
            ["introspection_endpoint"] = server.Issuer + "/oauth/introspect",
            ["revocation_endpoint"] = server.Issuer + "/oauth/revoke",
            ["jwks_uri"] = server.Issuer + "/.well-known/jwks.json",
            ["grant_types_supported"] = new[] { "client_credentials" },
            ["token_endpoint_auth_methods_supported"] = new[] { "private_key_jwt", "none" },
            ["token_endpoint_auth_signing_alg_values_supported"] = new[] { "ES256" },
            ["dpop_signing_alg_values_supported"] = new[] { "ES256" },
            ["response_types_supported"] = Array.Empty<string>(),
            ["scopes_supported"] = Array.Empty<string>(),
            ["service_documentation"] = "https://github.com/writ-dev/writ/blob/main/docs/api.md",
        }));
        return app;
    }

    /// <summary>
    /// RFC 7662: active only when the signature, expiry, revocation, task and agent all still hold, so a
    /// resource server that introspects sees revocation at once (invariant 9).
    /// </summary>
    private static async Task<IResult> IntrospectAsync(HttpContext http, TokenStatus status)
    {
        var form = await RequestBody.ReadFormAsync(http.Request);
        if (!form.IsSuccess) return OAuthResults.Error("invalid_request", form.Error!);
        var token = RequestBody.Single(form.Value, "token");
        if (!token.IsSuccess) return OAuthResults.Error("invalid_request", token.Error!);
        if (token.Value is null) return OAuthResults.Error("invalid_request", "request.missing_token", "token is required (RFC 7662 §2.1)");

        var claims = await status.CheckAsync(token.Value, http.RequestAborted);
        if (!claims.IsSuccess) return OAuthResults.Json(new Dictionary<string, object> { ["active"] = false });
        var c = claims.Value;
        var body = new Dictionary<string, object?>
        {
            ["active"] = true,
            ["token_type"] = "DPoP",
            ["iss"] = c.Issuer,
            ["sub"] = c.Subject,
            ["aud"] = c.Audience,
            ["client_id"] = c.ClientId,
            ["scope"] = c.Scope,
            ["env"] = c.Environment,
            ["task"] = c.TaskId,
            ["target"] = c.Target,
            ["jti"] = c.Jti,
            ["iat"] = c.IssuedAt.ToUnixTimeSeconds(),
            ["exp"] = c.ExpiresAt.ToUnixTimeSeconds(),
            ["cnf"] = new Dictionary<string, string> { ["jkt"] = c.Jkt },
            ["policy_version"] = c.PolicyVersion,
        };
        if (c.OnBehalfOf is not null) body["act"] = new Dictionary<string, string> { ["sub"] = c.OnBehalfOf };
        return OAuthResults.Json(body);
    }

    /// <summary>
    /// RFC 7009: the holder revokes its own token by proving possession of the bound key (a DPoP proof
    /// whose thumbprint is the token's cnf.jkt); an admin revokes any. Unknown or invalid tokens get 200,
    /// as §2.2 says, so the endpoint tells an attacker nothing.
    /// </summary>
    private static async Task<IResult> RevokeAsync(HttpContext http, AccessTokenValidator validator, DpopProofValidator proofs, ServerContext server,
        IWritStore store, TimeProvider clock)
    {
        var form = await RequestBody.ReadFormAsync(http.Request);
        if (!form.IsSuccess) return OAuthResults.Error("invalid_request", form.Error!);
        var token = RequestBody.Single(form.Value, "token");
        if (!token.IsSuccess) return OAuthResults.Error("invalid_request", token.Error!);
        if (token.Value is null) return OAuthResults.Error("invalid_request", "request.missing_token", "token is required (RFC 7009 §2.1)");

        // An expired or invalid token has nothing left to revoke.
        var claims = validator.Validate(token.Value, null);
        if (!claims.IsSuccess) return Results.Ok();

        var proof = proofs.Validate(DpopHeader.Of(http.Request), "POST", server.UrlOf(http.Request.Path), token.Value, claims.Value.Jkt);
        if (!proof.IsSuccess)
        {
            // Someone holding a token but not its key tried to revoke it: recorded (method and path), never the token.
            await BearerCredential.AuditRefusalAsync(http, "credential.revoke", ActorKinds.Unknown, "unknown", "auth.not_token_holder");
            return OAuthResults.Error("invalid_client", "auth.not_token_holder", "only the holder of the token's key may revoke it: send a DPoP proof signed by it", 401);
        }

        var now = clock.GetUtcNow();
        // The revocation and its record commit together (a failed append: 503, nothing revoked, retry).
        await store.Credentials.RevokeAsync(claims.Value.Jti, now, revoked => new AuditEvent(now, ActorKinds.AiAgent, claims.Value.Subject, null,
            claims.Value.TaskId, "credential.revoke", claims.Value.Audience, claims.Value.Environment, claims.Value.Scope, claims.Value.Target,
            Decisions.Info, revoked ? "revoked" : "already_revoked", null, 0, $$"""{"jti":"{{claims.Value.Jti}}"}"""), http.RequestAborted);
        return Results.Ok();
    }
}

/// <summary>A token that still works, with the agent it was issued to (as read for the liveness check).</summary>
/// <param name="Proof">The DPoP proof the token came with, once <see cref="Auth.BoundTokenAuthenticator"/> has checked it.</param>
internal sealed record LiveToken(AccessTokenClaims Claims, Agent Agent, DpopProof? Proof = null);

/// <summary>
/// Whether a presented access token still works: signature and expiry (the validator caches a verified signature),
/// then revocation, task and agent state from the <see cref="StatusView"/> (re-read after any write that could change them).
/// </summary>
internal sealed class TokenStatus(AccessTokenValidator validator, StatusView view, TimeProvider clock, ServedEnvironment served)
{
    public async Task<Result<AccessTokenClaims>> CheckAsync(string token, CancellationToken ct, string? audience = null)
    {
        var live = await CheckLiveAsync(token, ct, audience);
        return live.IsSuccess ? live.Value.Claims : live.Error!;
    }

    public async Task<Result<LiveToken>> CheckLiveAsync(string token, CancellationToken ct, string? audience = null)
    {
        var claims = validator.Validate(token, audience);
        if (!claims.IsSuccess) return claims.Error!;
        var c = claims.Value;
        // A gateway that serves one environment refuses another's token before asking anything about it (invariant 2).
        if (served.Name is { } environment && c.Environment != environment)
            return new Error("gateway.environment_not_served", $"this gateway serves {environment} only; a {c.Environment} credential is not accepted here");
        var s = await view.GetAsync(c.Jti, c.TaskId, c.Subject, ct);
        if (!s.CredentialLive) return new Error("token.revoked", "the credential has been revoked");
        if (s.Task is null || !s.Task.IsOpenAt(clock.GetUtcNow())) return new Error("token.task_closed", "the credential's task is closed");
        if (s.Agent is null || s.Agent.Status != AgentStatuses.Active) return new Error("token.agent_inactive", "the credential's agent is not active");
        if (s.Agent.Environment != c.Environment) return new Error("token.environment_mismatch", "the credential names another environment than its agent");
        return new LiveToken(c, s.Agent);
    }
}
