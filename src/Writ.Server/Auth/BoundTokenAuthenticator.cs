using Microsoft.AspNetCore.Http;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.OAuth;

namespace Writ.Server.Auth;

/// <summary>
/// Checks a presented access token the way a protected resource must (RFC 9449 §7): the token is
/// valid and live, and the request carries a fresh DPoP proof for this method and URL, with <c>ath</c>
/// over this token, signed by the very key the token is bound to (<c>cnf.jkt</c>). A copied token
/// without the agent's private key gets nothing (invariant 3).
/// </summary>
internal sealed class BoundTokenAuthenticator(TokenStatus status, DpopProofValidator proofs, ServerContext server)
{
    public async Task<Result<AccessTokenClaims>> AuthenticateAsync(HttpContext http, string? audience)
    {
        var live = await AuthenticateLiveAsync(http, audience);
        return live.IsSuccess ? live.Value.Claims : live.Error!;
    }

    /// <summary>As <see cref="AuthenticateAsync"/>, with the token's agent as read for the liveness check.</summary>
    public async Task<Result<LiveToken>> AuthenticateLiveAsync(HttpContext http, string? audience)
    {
        string? header = http.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header)) return new Error("auth.missing", "send the credential as Authorization: DPoP <token> with a DPoP proof");
        if (!header.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
            return new Error("auth.not_dpop", "Writ credentials are sender-constrained: use the DPoP scheme, not Bearer (RFC 9449 §7.1)");
        var token = header[5..].Trim();

        // The token first, so the proof can be checked against its cnf.jkt before its jti is recorded:
        // a thief's proofs never reach the replay cache.
        var live = await status.CheckLiveAsync(token, http.RequestAborted, audience);
        if (!live.IsSuccess) return live;
        var proof = proofs.Validate(DpopHeader.Of(http.Request), http.Request.Method, server.UrlOf(http.Request.Path), token, live.Value.Claims.Jkt);
        return proof.IsSuccess ? live.Value with { Proof = proof.Value } : proof.Error!;
    }
}
