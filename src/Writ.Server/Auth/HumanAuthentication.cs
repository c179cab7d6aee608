using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Humans;
using Writ.Core.Storage;
using Writ.Server.Http;

namespace Writ.Server.Auth;

/// <summary>The human roles an endpoint accepts. The most specific one (endpoint over group) applies.</summary>
internal sealed record AllowedRoles(IReadOnlyList<string> Roles);

/// <summary>
/// Authenticates human operators: a user's login session (<c>writ_session_…</c>, 8 h, stored hashed,
/// revocable) or the bootstrap admin token that <c>--dev</c> prints (<c>writ_admin_…</c>, role admin). Then
/// checks the endpoint's roles: auditors read audit and inventory, approvers decide approvals, admins manage.
/// Invariant 8: an agent credential — a DPoP-bound access token or any JWT — never opens a human endpoint,
/// and is told so with 403 <c>auth.agent_forbidden</c> rather than a vague 401.
/// </summary>
internal static class HumanAuthentication
{
    public const string AdminTokenPrefix = "writ_admin_";
    public const string SessionTokenPrefix = "writ_session_";

    /// <summary>Authenticates a human and requires one of <paramref name="roles"/> (unless an endpoint narrows or widens it with <see cref="AllowRoles"/>).</summary>
    public static TBuilder RequireHuman<TBuilder>(this TBuilder builder, params string[] roles) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new AllowedRoles(roles));
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var result = await AuthenticateAsync(http);
            if (!result.IsSuccess) return await BearerCredential.RefuseAsync(http, result.Error!, "writ", "human.auth");
            var caller = result.Value;
            var allowed = http.GetEndpoint()?.Metadata.GetMetadata<AllowedRoles>()?.Roles ?? [];
            if (!allowed.Any(r => caller.Roles.Contains(r, StringComparer.Ordinal)))
            {
                await BearerCredential.AuditRefusalAsync(http, "human.auth", caller.ActorKind, caller.ActorId, "auth.role_required");
                return Problems.Of(403, "auth.role_required",
                    $"this needs the {string.Join(" or ", allowed)} role; {caller.ActorId} has {(caller.Roles.Count == 0 ? "no role" : string.Join(", ", caller.Roles))}");
            }
            caller.AttachTo(http);
            return await next(context);
        });
        return builder;
    }

    /// <summary>Sets the roles one endpoint accepts, overriding its group's.</summary>
    public static TBuilder AllowRoles<TBuilder>(this TBuilder builder, params string[] roles) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AllowedRoles(roles));

    public static async Task<Result<Caller>> AuthenticateAsync(HttpContext http)
    {
        var bearer = BearerCredential.Read(http.Request, "this endpoint needs a human login: Authorization: Bearer <token> (see `writ login`)",
            "agent credentials cannot call endpoints for humans (policy, approvals, audit, inventory)");
        if (!bearer.IsSuccess) return bearer.Error!;
        var token = bearer.Value;

        var store = http.RequestServices.GetRequiredService<IWritStore>();
        var hash = Ids.Sha256Hex(token);
        if (token.StartsWith(SessionTokenPrefix, StringComparison.Ordinal))
        {
            var found = await store.Users.FindSessionAsync(hash, http.RequestAborted);
            if (found is null || found.Session.RevokedAt is not null)
                return new Error("auth.invalid_token", "the session is not valid (logged out, or the user was disabled): run `writ login` again");
            if (found.Session.ExpiresAt <= http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow())
                return new Error("auth.session_expired", "the session has expired: run `writ login` again");
            if (!found.User.IsActive)
                return new Error("auth.user_disabled", $"user {found.User.Name} is disabled");
            return new Caller(ActorKinds.Human, found.User.Name) { Roles = found.User.Roles, SessionHash = hash };
        }
        if (token.StartsWith(AdminTokenPrefix, StringComparison.Ordinal))
        {
            var admin = await store.AdminTokens.FindAsync(hash, http.RequestAborted);
            if (admin is not null && admin.RevokedAt is null)
                return new Caller(ActorKinds.Human, admin.Name) { Roles = [HumanRoles.Admin] };
        }
        return new Error("auth.invalid_token", "the token is not valid");
    }
}
