using System.Security.Cryptography;
using System.Text;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class TestClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public static TestClock At2026() => new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>Builds JWS by hand so attack tests can put anything in a header or payload.</summary>
internal static class TestJws
{
    public static string B64(string json) => Base64Url(Encoding.UTF8.GetBytes(json));

    public static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static string SignEs256(ECDsa key, string headerJson, string payloadJson)
    {
        var input = B64(headerJson) + "." + B64(payloadJson);
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + Base64Url(signature);
    }

    public static string SignHs256(byte[] secret, string headerJson, string payloadJson)
    {
        var input = B64(headerJson) + "." + B64(payloadJson);
        return input + "." + Base64Url(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(input)));
    }

    public static string Unsigned(string headerJson, string payloadJson, string signature = "") =>
        B64(headerJson) + "." + B64(payloadJson) + "." + signature;

    public static string DecodePart(string compact, int index) =>
        Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(compact.Split('.')[index]));

    public static string PublicJwk(ECDsa key, bool withPrivate = false)
    {
        var p = key.ExportParameters(withPrivate);
        var d = withPrivate ? ",\"d\":\"" + Base64Url(p.D) + "\"" : "";
        return "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + Base64Url(p.Q.X) + "\",\"y\":\"" + Base64Url(p.Q.Y) + "\"" + d + "}";
    }
}

/// <summary>A replay cache that remembers everything, to make ordering visible in tests.</summary>
internal sealed class RecordingReplayCache : IDpopReplayCache
{
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Keys => _keys;

    public bool TryAdd(string key, DateTimeOffset expiresAt)
    {
        lock (_keys) return _keys.Add(key);
    }
}
