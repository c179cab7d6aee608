using Microsoft.AspNetCore.Http;

namespace Writ.Server.Http;

internal static class DpopHeader
{
    /// <summary>
    /// Writ's own clients send the proof for their next request with the current one, so its signature is verified
    /// while nothing waits for it (<see cref="Writ.Core.Tokens.DpopProofValidator.CheckAhead"/>). Never forwarded upstream.
    /// </summary>
    public const string Next = "Writ-Next-DPoP";

    /// <summary>
    /// The request's DPoP header as one string: null when absent; several headers are joined with a
    /// comma, which the validator refuses as "more than one proof" (RFC 9449 §4.3 check 1).
    /// </summary>
    public static string? Of(HttpRequest request)
    {
        var values = request.Headers["DPoP"];
        return values.Count == 0 ? null : values.ToString();
    }
}
