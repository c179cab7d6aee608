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

    /// <summary>
    /// A random id (<paramref name="bytes"/> bytes of entropy, as <see cref="Random"/>) that starts with <paramref name="at"/>
    /// to the millisecond, in 8 characters that sort in time order: ids made later sort later, compared byte for byte (as
    /// SQLite's BINARY collation does; a linguistic collation may differ on '-' and '_', which costs locality, not
    /// correctness). A store's unique index on such ids grows at its right edge, so a commit of many new ones touches a
    /// page or two of it instead of one random page per id (which is what each credential's jti did, before: most of the
    /// pages every issuance commit wrote, and most of what its checkpoints copied back).
    /// </summary>
    public static string TimeOrdered(DateTimeOffset at, int bytes = 16)
    {
        var millis = Math.Clamp(at.ToUnixTimeMilliseconds(), 0, (1L << 48) - 1);
        Span<char> id = stackalloc char[8 + (bytes * 4 + 2) / 3];
        for (var i = 7; i >= 0; i--, millis >>= 6) id[i] = SortableDigits[(int)(millis & 63)];
        Span<byte> random = stackalloc byte[bytes];
        RandomNumberGenerator.Fill(random);
        System.Buffers.Text.Base64Url.EncodeToChars(random, id[8..]);
        return new string(id);
    }

    /// <summary>The base64url alphabet in ASCII order, so that a string of these digits sorts as its number does.</summary>
    private const string SortableDigits = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

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
