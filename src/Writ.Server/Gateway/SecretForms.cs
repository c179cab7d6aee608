using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Writ.Server.Gateway;

/// <summary>
/// The spellings of an upstream credential that the gateway scrubs from what comes back (invariant 4). A leaky
/// upstream rarely echoes a secret verbatim: it puts it in JSON (escaped), in a URL or a form (percent-encoded), or
/// in a token or a Basic header (base64). Each form is a literal string to find; longest first.
/// </summary>
internal static class SecretForms
{
    /// <summary>Base64 fragments shorter than this are not scrubbed: they would redact unrelated text.</summary>
    private const int MinFragment = 8;

    /// <param name="secret">The plaintext credential.</param>
    /// <param name="injected">What the gateway actually sent (e.g. <c>Bearer …</c>, <c>Basic …</c>), if not the secret itself.</param>
    public static string[] Of(string secret, string? injected)
    {
        var forms = new HashSet<string>(StringComparer.Ordinal) { secret };
        if (!string.IsNullOrEmpty(injected)) forms.Add(injected);

        // Percent-encoding: RFC 3986 (upper-case hex), the lower-case hex some encoders emit, and forms ('+' for space).
        var escaped = Uri.EscapeDataString(secret);
        forms.Add(escaped);
        forms.Add(LowerHex(escaped));
        forms.Add(System.Net.WebUtility.UrlEncode(secret));

        // JSON string escaping: minimal (", \, controls), .NET's default (also <>&'+ and non-ASCII as \uXXXX), the
        // lower-case \u hex other serialisers write, and "\/" for '/' (PHP, some Java).
        var minimal = JsonEncodedText.Encode(secret, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString();
        var strict = JsonEncodedText.Encode(secret).ToString();
        forms.Add(minimal);
        forms.Add(strict);
        forms.Add(LowerHex(strict, '\\', 'u'));
        forms.Add(minimal.Replace("/", "\\/", StringComparison.Ordinal));

        // Base64 and base64url of the secret alone, and the part of its encoding that does not depend on where it
        // starts inside a longer base64 payload (three byte alignments).
        var bytes = Encoding.UTF8.GetBytes(secret);
        forms.Add(Convert.ToBase64String(bytes));
        for (var offset = 0; offset < 3; offset++)
        {
            var shifted = new byte[offset + bytes.Length];
            bytes.CopyTo(shifted, offset);
            var b64 = Convert.ToBase64String(shifted);
            // Characters wholly inside the secret's bits: skip those touching the prefix, stop before those touching what follows.
            var start = offset == 0 ? 0 : offset + 1;
            var end = 8 * shifted.Length / 6;
            if (end - start < MinFragment) continue;
            var core = b64[start..end];
            forms.Add(core);
            forms.Add(core.Replace('+', '-').Replace('/', '_'));
        }

        return forms.Where(f => f.Length > 0).OrderByDescending(f => f.Length).ToArray();
    }

    /// <summary>Lower-cases the hex digits of every <c>%XX</c> (or, with a marker pair, <c>\uXXXX</c>) escape.</summary>
    private static string LowerHex(string s, char first = '%', char second = '\0')
    {
        var b = new StringBuilder(s);
        for (var i = 0; i < b.Length; i++)
        {
            if (b[i] != first) continue;
            var hexStart = i + 1;
            var hexLength = 2;
            if (second != '\0')
            {
                if (hexStart >= b.Length || b[hexStart] != second) continue;
                hexStart++;
                hexLength = 4;
            }
            for (var j = hexStart; j < Math.Min(hexStart + hexLength, b.Length); j++) b[j] = char.ToLowerInvariant(b[j]);
        }
        return b.ToString();
    }
}
