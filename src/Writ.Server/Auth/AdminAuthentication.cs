using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Server.Http;

namespace Writ.Server.Auth;

/// <summary>
/// Authenticates human operators on the admin API with a bearer admin token (stored as SHA-256 only).
/// Invariant 8: an agent credential — a DPoP-bound access token or any JWT — never opens an admin
/// endpoint, and is told so with 403 <c>auth.agent_forbidden</c> rather than a vague 401.
/// </summary>
internal static class AdminAuthentication
{
    public const string TokenPrefix = "writ_admin_";

    public static RouteGroupBuilder RequireAdmin(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var result = await AuthenticateAsync(http);
            if (!result.IsSuccess)
            {
                if (result.Error!.Code != "auth.agent_forbidden") http.Response.Headers.WWWAuthenticate = "Bearer realm=\"writ\"";
                return Problems.Of(result.Error);
            }
            result.Value.AttachTo(http);
            return await next(context);
        });
        return group;
    }

    private static async Task<Result<Caller>> AuthenticateAsync(HttpContext http)
    {
        string? header = http.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return new Error("auth.missing", "this endpoint needs an admin token: Authorization: Bearer <token> (see `writ login`)");
        var space = header.IndexOf(' ');
        var scheme = space > 0 ? header[..space] : header;
        var token = space > 0 ? header[(space + 1)..].Trim() : "";
        if (scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase) || token.Count(c => c == '.') == 2)
            return new Error("auth.agent_forbidden", "agent credentials cannot call admin endpoints");
        if (!scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || !token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 200)
            return new Error("auth.invalid_token", "the admin token is not valid");
        var store = http.RequestServices.GetRequiredService<IWritStore>();
        var found = await store.AdminTokens.FindAsync(Ids.Sha256Hex(token), http.RequestAborted);
        if (found is null || found.RevokedAt is not null)
            return new Error("auth.invalid_token", "the admin token is not valid");
        return new Caller(ActorKinds.Human, found.Name);
    }
}
