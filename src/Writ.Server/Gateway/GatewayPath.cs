using System.Text;
using Writ.Core.Common;

namespace Writ.Server.Gateway;

/// <summary>
/// Turns the raw path after <c>/gw/{resource}</c> into decoded segments, decoding exactly once and refusing, rather
/// than normalising, anything that could make the gateway and the upstream disagree on which route a call is:
/// empty segments (<c>//</c>), dot segments (<c>.</c>, <c>..</c>, also encoded), segments ending in a dot or white space
/// (<c>export.</c>, <c>export%20</c>: IIS, Windows and some routers strip them), encoded or literal slashes and
/// backslashes inside a segment, '%' left after decoding (double encoding), invalid or overlong UTF-8 (RFC 3629 §3),
/// NUL and other control characters. The upstream path is rebuilt from these segments, each re-encoded, so what is
/// forwarded is exactly what was matched.
/// </summary>
internal static class GatewayPath
{
    public const int MaxLength = 4096;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary><paramref name="raw"/> is the still-encoded path after the resource, starting with '/' or empty.</summary>
    public static Result<IReadOnlyList<string>> Parse(string raw)
    {
        if (raw.Length > MaxLength) return Bad($"the path is longer than {MaxLength} characters");
        if (raw.Length == 0 || raw == "/") return Result<IReadOnlyList<string>>.Ok([]);
        if (raw[0] != '/') return Bad("the path must start with '/'");
        var parts = raw[1..].Split('/');
        var segments = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            if (part.Length == 0) return Bad("empty path segments ('//' or a trailing '/') are not allowed");
            var decoded = Decode(part);
            if (decoded is null) return Bad("a path segment is not valid percent-encoded UTF-8");
            if (decoded is "." or "..") return Bad("dot segments ('.' and '..', encoded or not) are not allowed");
            if (decoded[^1] == '.' || char.IsWhiteSpace(decoded[^1]))
                return Bad("a path segment may not end in '.' or white space (some servers strip them and route elsewhere)");
            foreach (var c in decoded)
            {
                if (c is '/' or '\\') return Bad("encoded slashes and backslashes are not allowed in a path segment");
                if (c == '%') return Bad("'%' after decoding (double encoding) is not allowed");
                if (char.IsControl(c)) return Bad("control characters are not allowed in the path");
            }
            segments.Add(decoded);
        }
        return Result<IReadOnlyList<string>>.Ok(segments);
    }

    /// <summary>The normalised form used for the upstream request and the audit: each segment re-encoded (RFC 3986 unreserved kept).</summary>
    public static string Format(IReadOnlyList<string> segments) =>
        "/" + string.Join('/', segments.Select(Uri.EscapeDataString));

    private static string? Decode(string part)
    {
        if (part.IndexOf('%') < 0) return part;
        var bytes = new byte[part.Length];
        var n = 0;
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            if (c == '%')
            {
                if (i + 2 >= part.Length || !IsHex(part[i + 1]) || !IsHex(part[i + 2])) return null;
                bytes[n++] = (byte)((Hex(part[i + 1]) << 4) | Hex(part[i + 2]));
                i += 2;
            }
            else if (c > 0x7F)
            {
                return null; // raw non-ASCII in a request target is not valid (RFC 3986 §2)
            }
            else
            {
                bytes[n++] = (byte)c;
            }
        }
        try
        {
            return StrictUtf8.GetString(bytes, 0, n);
        }
        catch (DecoderFallbackException)
        {
            return null; // overlong forms (%C0%AE for '.'), surrogates and truncated sequences
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int Hex(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static Result<IReadOnlyList<string>> Bad(string message) => new Error("gateway.bad_path", message);
}
