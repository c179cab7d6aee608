using Microsoft.AspNetCore.Http;

namespace Writ.Server.Http;

internal static class DpopHeader
{
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
