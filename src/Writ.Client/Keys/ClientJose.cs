using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Writ.Client.Keys;

/// <summary>
/// The few JOSE pieces an agent needs to sign (RFC 7515 compact JWS, ES256). Writ.Client does not
/// reference Writ.Core, so this duplicates the smallest part of it on purpose.
/// </summary>
internal static class ClientJose
{
    public static string Base64Url(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    /// <summary>RFC 7638 §3.2 canonical JSON of an EC public key, members in lexicographic order.</summary>
    public static string CanonicalJwk(string x, string y) => "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}";

    /// <summary>RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)).</summary>
    public static string Thumbprint(string canonicalJwk) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(canonicalJwk)));

    /// <summary>base64url(SHA-256(token)): the DPoP <c>ath</c> claim (RFC 9449 §4.2).</summary>
    public static string AccessTokenHash(string accessToken) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>Signs <c>encodedHeader '.' base64url(payload)</c> with ES256 and returns the compact JWS.</summary>
    public static string Sign(ECDsa key, string encodedHeader, ReadOnlySpan<byte> payload)
    {
        var h = encodedHeader.Length;
        var p = System.Buffers.Text.Base64Url.GetEncodedLength(payload.Length);
        var total = h + 1 + p + 1 + 86;
        var rented = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var buffer = rented.AsSpan(0, total);
            Encoding.ASCII.GetBytes(encodedHeader, buffer);
            buffer[h] = (byte)'.';
            System.Buffers.Text.Base64Url.EncodeToUtf8(payload, buffer[(h + 1)..]);
            Span<byte> signature = stackalloc byte[64];
            var n = key.SignData(buffer[..(h + 1 + p)], signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            if (n != 64) throw new CryptographicException("unexpected ES256 signature length");
            buffer[h + 1 + p] = (byte)'.';
            System.Buffers.Text.Base64Url.EncodeToUtf8(signature, buffer[(h + 2 + p)..]);
            return Encoding.ASCII.GetString(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A random <c>jti</c>: 128 bits, base64url.</summary>
    public static string NewJti()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url(bytes);
    }
}
