using Writ.Core.Humans;
using Microsoft.AspNetCore.Http;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Server.Agents;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Credentials;

internal static class CredentialEndpoints
{
    public static IEndpointRouteBuilder MapCredentials(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/credentials").RequireHuman(HumanRoles.Admin);
        group.MapGet("", async (string? agent, IWritStore store, TimeProvider clock, CancellationToken ct) =>
            Results.Json((await store.Credentials.ListActiveAsync(agent, clock.GetUtcNow(), ct)).Select(AgentEndpoints.ToInfo).ToList(), WritJson.Options))
            .AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        group.MapPost("/{jti}/revoke", async (string jti, HttpContext http, IWritStore store, TimeProvider clock) =>
        {
            var ct = http.RequestAborted;
            var credential = await store.Credentials.GetAsync(jti, ct);
            if (credential is null) return Problems.Of(404, "credential.not_found", $"no credential {AgentEndpoints.Bounded(jti)}");
            var now = clock.GetUtcNow();
            var caller = Caller.Of(http);
            // The revocation and its record commit together (a failed append: 503, nothing revoked, retry).
            await store.Credentials.RevokeAsync(jti, now, revoked => new AuditEvent(now, caller.ActorKind, caller.ActorId, null, credential.TaskId,
                "credential.revoke", credential.Resource, credential.Environment, credential.Scope, credential.Target, Decisions.Info,
                revoked ? "revoked" : "already_revoked", null, 0, $$"""{"jti":"{{credential.Jti}}","agent":"{{credential.AgentId}}"}"""), ct);
            return Results.Json(AgentEndpoints.ToInfo((await store.Credentials.GetAsync(jti, ct))!), WritJson.Options);
        });
        return app;
    }
}
