using System.Security.Cryptography;

namespace Writ.Core.Common;

/// <summary>Random identifiers and secrets, and the SHA-256 digests Writ stores instead of secrets.</summary>
public static class Ids
{
    /// <summary>A URL-safe random string with <paramref name="bytes"/> bytes of entropy.</summary>
    public static string Random(int bytes = 16)
    {
        Span<byte> buffer = stackalloc byte[bytes];
        RandomNumberGenerator.Fill(buffer);
        return Base64Url.Encode(buffer);
    }

    /// <summary>A prefixed id, e.g. <c>task_3qf…</c>: the prefix tells a reader what kind of object an id names.</summary>
    public static string New(string prefix) => prefix + "_" + Random(12);

    /// <summary>Hex SHA-256 of a secret: what the stores keep, so a stolen database holds no usable token.</summary>
    public static string Sha256Hex(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
}

/// <summary>base64url without padding (RFC 7515 §2).</summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    public static byte[] Decode(string text) => System.Buffers.Text.Base64Url.DecodeFromChars(text);

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        try
        {
            bytes = System.Buffers.Text.Base64Url.DecodeFromChars(text);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
