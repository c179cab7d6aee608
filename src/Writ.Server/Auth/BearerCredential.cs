using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Core.Common;

namespace Writ.Server.Auth;

/// <summary>
/// The <c>Authorization: Bearer …</c> credential of the endpoints that are not for agents (human operators, standalone
/// gateways), and the audit record of a refused one. An agent credential — the DPoP scheme or any JWT — is named as
/// such (403 <c>auth.agent_forbidden</c>, invariant 8) rather than given a vague 401.
/// </summary>
internal static class BearerCredential
{
    /// <param name="missing">What to send, for a request without any credential.</param>
    /// <param name="agentForbidden">Why an agent credential is refused here.</param>
    public static Result<string> Read(HttpRequest request, string missing, string agentForbidden)
    {
        string? header = request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return new Error("auth.missing", missing);
        var space = header.IndexOf(' ');
        var scheme = space > 0 ? header[..space] : header;
        var token = space > 0 ? header[(space + 1)..].Trim() : "";
        if (scheme.Equals("DPoP", StringComparison.OrdinalIgnoreCase) || token.Count(c => c == '.') == 2)
            return new Error("auth.agent_forbidden", agentForbidden);
        if (!scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || token.Length > 200)
            return new Error("auth.invalid_token", "the token is not valid");
        return token;
    }

    /// <summary>
    /// The answer to a credential that <see cref="Read"/> or its check refused: a Bearer challenge for <paramref name="realm"/>
    /// (none for an agent credential, which no Bearer token would fix), the refusal audited as <paramref name="action"/>.
    /// </summary>
    public static async Task<IResult> RefuseAsync(HttpContext http, Error error, string realm, string action)
    {
        if (error.Code != "auth.agent_forbidden") http.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{realm}\"";
        await AuditRefusalAsync(http, action, ActorKinds.Unknown, "unknown", error.Code);
        return Http.Problems.Of(error);
    }

    /// <summary>
    /// A refused call is a security event: recorded (as <paramref name="action"/>) with the method and path, never the token.
    /// </summary>
    public static Task AuditRefusalAsync(HttpContext http, string action, string actorKind, string actorId, string code)
    {
        var clock = http.RequestServices.GetRequiredService<TimeProvider>();
        var target = http.Request.Method + " " + Agents.AgentEndpoints.Bounded(http.Request.Path.Value ?? "");
        return http.RequestServices.GetRequiredService<Hosting.AuditLog>().RecordAsync(new AuditEvent(
            clock.GetUtcNow(), actorKind, actorId, null, null, action, null, null, null, target, Decisions.Deny, code, null, 0, null), null, http.RequestAborted);
    }
}
