using System.Text;

namespace Writ.Server.Gateway;

/// <summary>
/// The forms of an upstream credential that the gateway scrubs from what comes back (invariant 4): the secret, what
/// was injected (<c>Bearer …</c>, <c>Basic …</c>), and its base64 encodings — a leaky upstream puts a credential in a
/// token or echoes the Basic header's payload. How each character of a form may be escaped (percent-encoding, JSON,
/// HTML) is <see cref="SecretMatcher"/>'s business, so these are only the forms that change the text itself.
/// </summary>
internal static class SecretForms
{
    /// <summary>Base64 fragments shorter than this are not scrubbed: they would redact unrelated text.</summary>
    private const int MinFragment = 8;

    private const string BasicScheme = "Basic ";

    /// <param name="secret">The plaintext credential.</param>
    /// <param name="injected">What the gateway actually sent (e.g. <c>Bearer …</c>, <c>Basic …</c>), if not the secret itself.</param>
    public static string[] Of(string secret, string? injected)
    {
        var forms = new HashSet<string>(StringComparer.Ordinal) { secret };
        if (!string.IsNullOrEmpty(injected))
        {
            forms.Add(injected);
            // The bare payload of a Basic header, base64(user:secret), as an upstream logs or echoes it; unpadded, so
            // a copy that dropped the '=' is found too.
            if (injected.StartsWith(BasicScheme, StringComparison.Ordinal)) forms.Add(injected[BasicScheme.Length..].TrimEnd('='));
        }

        // Base64 and base64url of the secret alone (unpadded), and the part of its encoding that does not depend on
        // where it starts inside a longer base64 payload (three byte alignments).
        var bytes = Encoding.UTF8.GetBytes(secret);
        forms.Add(Convert.ToBase64String(bytes).TrimEnd('='));
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
}
