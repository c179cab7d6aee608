using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Crypto;

/// <summary>
/// RFC 7638 JWK thumbprints of EC public keys: base64url(SHA-256) of the canonical JSON
/// <c>{"crv":…,"kty":"EC","x":…,"y":…}</c> — required members only, in lexicographic order, no
/// whitespace (RFC 7638 §3.2, §3.3). This is the <c>jkt</c> of RFC 9449 §6.1 (<c>cnf.jkt</c>) and
/// the identity Writ records for an enrolled agent key.
/// </summary>
public static class JwkThumbprint
{
    /// <summary>Thumbprint of the EC public JWK with members <paramref name="crv"/>, <paramref name="x"/>, <paramref name="y"/> (as they appear in the JWK).</summary>
    /// <exception cref="ArgumentException">A member holds a character that would need JSON escaping (no valid EC JWK does).</exception>
    public static string Compute(string crv, string x, string y)
    {
        ArgumentNullException.ThrowIfNull(crv);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        RequirePlain(crv, nameof(crv));
        RequirePlain(x, nameof(x));
        RequirePlain(y, nameof(y));

        // {"crv":"","kty":"EC","x":"","y":""} is 34 ASCII bytes around the three values.
        var length = 34 + crv.Length + x.Length + y.Length;
        byte[]? rented = null;
        Span<byte> json = length <= 512 ? stackalloc byte[512] : (rented = new byte[length]);
        var n = 0;
        n += Append(json[n..], "{\"crv\":\"");
        n += Append(json[n..], crv);
        n += Append(json[n..], "\",\"kty\":\"EC\",\"x\":\"");
        n += Append(json[n..], x);
        n += Append(json[n..], "\",\"y\":\"");
        n += Append(json[n..], y);
        n += Append(json[n..], "\"}");
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(json[..n], hash);
        return System.Buffers.Text.Base64Url.EncodeToString(hash);
    }

    /// <summary>Thumbprint of the public part of <paramref name="parameters"/> (must be a named curve P-256, P-384 or P-521).</summary>
    public static string Compute(ECParameters parameters)
    {
        var crv = EcJwk.CurveName(parameters.Curve)
            ?? throw new ArgumentException("only the NIST curves P-256, P-384 and P-521 have a JWK name", nameof(parameters));
        if (parameters.Q.X is null || parameters.Q.Y is null) throw new ArgumentException("the public point is missing", nameof(parameters));
        return Compute(crv, Base64Url(parameters.Q.X), Base64Url(parameters.Q.Y));
    }

    /// <summary>Thumbprint of the public part of <paramref name="key"/>.</summary>
    public static string Compute(ECDsa key) => Compute(key.ExportParameters(false));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static int Append(Span<byte> destination, string ascii) => Encoding.ASCII.GetBytes(ascii, destination);

    private static void RequirePlain(string value, string name)
    {
        foreach (var c in value)
        {
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') throw new ArgumentException("a JWK member contains a character that needs escaping", name);
        }
    }
}
