using Writ.Core.Humans;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Server.Auth;
using Writ.Server.Hosting;

namespace Writ.Server.Keys;

internal static class KeyEndpoints
{
    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/keys").RequireHuman(HumanRoles.Admin);
        group.MapGet("", (SigningKeyRing keys) => Results.Json(Describe(keys), WritJson.Options)).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        group.MapPost("/rotate", async (HttpContext http, SigningKeyRing keys, TimeProvider clock) =>
        {
            var caller = Caller.Of(http);
            await keys.RotateAsync(kid => new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, "keys.rotate", null, null, null, null,
                Decisions.Info, null, null, 0, $$"""{"kid":"{{kid}}"}"""), http.RequestAborted);
            return Results.Json(Describe(keys), WritJson.Options);
        });
        return app;
    }

    private static List<SigningKeyInfo> Describe(SigningKeyRing keys) =>
        keys.Records.Select(r => new SigningKeyInfo(r.KeyId, r.CreatedAt, r.RetiredAt, r.KeyId == keys.Active.KeyId)).ToList();
}
