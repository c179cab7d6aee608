using System.Buffers;
using System.Text;

namespace Writ.Core.Crypto;

/// <summary>
/// Strict base64url (RFC 7515 §2: no padding, no whitespace, only <c>A–Z a–z 0–9 - _</c>) and the
/// ASCII handling compact JWS needs. The BCL decoder tolerates padding and whitespace; a token is
/// not allowed either, so every segment is checked here first.
/// </summary>
internal static class Jose
{
    public static int EncodedLength(int bytes) => System.Buffers.Text.Base64Url.GetEncodedLength(bytes);

    /// <summary>True when every char is in the base64url alphabet and the length is a possible unpadded length.</summary>
    public static bool IsBase64Url(ReadOnlySpan<char> text)
    {
        if (text.Length % 4 == 1) return false;
        foreach (var c in text)
        {
            if (!((uint)(c - 'A') <= 'Z' - 'A' || (uint)(c - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9 || c == '-' || c == '_')) return false;
        }
        return true;
    }

    /// <summary>Decodes a strict base64url segment into <paramref name="destination"/>; false on any deviation.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        if (!IsBase64Url(text)) return false;
        if (System.Buffers.Text.Base64Url.GetMaxDecodedLength(text.Length) > destination.Length) return false;
        return System.Buffers.Text.Base64Url.TryDecodeFromChars(text, destination, out written);
    }

    /// <summary>Decodes a strict base64url segment into a new array; null on any deviation.</summary>
    public static byte[]? Decode(ReadOnlySpan<char> text)
    {
        if (!IsBase64Url(text)) return null;
        var buffer = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(text.Length)];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(text, buffer, out var written)) return null;
        return written == buffer.Length ? buffer : buffer[..written];
    }

    /// <summary>base64url(SHA-256(ASCII(token))): the <c>ath</c> value of RFC 9449 §4.2.</summary>
    public static string AccessTokenHash(string accessToken)
    {
        Span<byte> hash = stackalloc byte[32];
        HashAscii(accessToken, hash);
        return System.Buffers.Text.Base64Url.EncodeToString(hash);
    }

    /// <summary>SHA-256 over the UTF-8 bytes of <paramref name="text"/>, pooled for long inputs.</summary>
    public static void HashAscii(string text, Span<byte> hash)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = Encoding.UTF8.GetBytes(text, buffer);
            System.Security.Cryptography.SHA256.HashData(buffer[..n], hash);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
