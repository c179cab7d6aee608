using System.Text;
using System.Text.Json;

namespace Writ.Scanner.Detection;

/// <summary>Structural checks that turn a pattern match into a finding (or drop it).</summary>
internal static class Validators
{
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm tokens end in 6 base62 digits holding CRC32 of the 30
    /// random characters before them (github.blog 2021-04-05 "Behind GitHub's new authentication token
    /// formats"; npm's 2021-09-23 announcement uses the same scheme).
    /// </summary>
    public static Verdict Base62Crc32(string token, ScanContext _)
    {
        var body = token.AsSpan(token.IndexOf('_') + 1);
        if (body.Length != 36) return Verdict.Reject;
        return Base62Checksum(body[..30]) == body[30..].ToString() ? Verdict.Valid : Verdict.ChecksumMismatch;
    }

    public static string Base62Checksum(ReadOnlySpan<char> random)
    {
        Span<byte> bytes = stackalloc byte[random.Length];
        for (var i = 0; i < random.Length; i++) bytes[i] = (byte)random[i];
        var crc = Crc32.Compute(bytes);
        Span<char> digits = stackalloc char[6];
        for (var i = 5; i >= 0; i--) { digits[i] = Base62[(int)(crc % 62)]; crc /= 62; }
        return new string(digits);
    }

    /// <summary>A SAS URL carries its version and expiry next to the signature; a lone <c>sig=</c> is something else.</summary>
    public static Verdict AzureSas(string _, ScanContext __) => Verdict.Valid;

    /// <summary>Base64 of <c>user:password</c> with a non-empty password that is not a placeholder.</summary>
    public static Verdict BasicPair(string value, ScanContext _)
    {
        var decoded = TryBase64(value);
        if (decoded is null) return Verdict.Reject;
        var colon = decoded.IndexOf(':');
        if (colon <= 0 || colon == decoded.Length - 1) return Verdict.Reject;
        var password = decoded[(colon + 1)..];
        if (password.Any(char.IsControl) || Suppressor.IsPlaceholder(password)) return Verdict.Reject;
        return Verdict.Valid;
    }

    /// <summary>A JWT's header must decode to JSON with an <c>alg</c>; an <c>exp</c> in the past lowers it to Low.</summary>
    public static Verdict Jwt(string token, ScanContext ctx)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return Verdict.Reject;
        try
        {
            using var header = JsonDocument.Parse(Base64UrlDecode(parts[0]));
            if (header.RootElement.ValueKind != JsonValueKind.Object || !header.RootElement.TryGetProperty("alg", out _)) return Verdict.Reject;
            using var payload = JsonDocument.Parse(Base64UrlDecode(parts[1]));
            if (payload.RootElement.ValueKind == JsonValueKind.Object
                && payload.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                && seconds < ctx.Time.GetUtcNow().ToUnixTimeSeconds())
                return Verdict.Expired;
            return Verdict.Valid;
        }
        catch (Exception e) when (e is JsonException or FormatException) { return Verdict.Reject; }
    }

    public static Verdict UrlPassword(string password, ScanContext _)
    {
        var decoded = password.Contains('%') ? Uri.UnescapeDataString(password) : password;
        return Suppressor.IsPlaceholder(decoded) || Suppressor.IsReference(decoded) || DefaultPasswords.Contains(decoded)
            ? Verdict.Reject : Verdict.Valid;
    }

    public static Verdict ConnectionString(string password, ScanContext _) =>
        Suppressor.IsPlaceholder(password) || Suppressor.IsReference(password) || DefaultPasswords.Contains(password)
            ? Verdict.Reject : Verdict.Valid;

    public static Verdict HighEntropy(string value, ScanContext _) =>
        Entropy.Shannon(value) >= 3.5 && !Suppressor.IsPlaceholder(value) ? Verdict.Valid : Verdict.Reject;

    /// <summary>Passwords of local development containers and tutorials (postgres:postgres@localhost).</summary>
    private static readonly HashSet<string> DefaultPasswords = new(StringComparer.OrdinalIgnoreCase)
    {
        "postgres", "root", "admin", "password", "pass", "passwd", "guest", "test", "secret", "mysql", "redis",
        "user", "changeit", "example", "mysecretpassword", "pwd", "sa", "dev", "development", "local",
    };

    public static byte[] Base64UrlDecode(string s)
    {
        var t = s.Replace('-', '+').Replace('_', '/');
        t += (t.Length % 4) switch { 2 => "==", 3 => "=", _ => "" };
        return Convert.FromBase64String(t);
    }

    /// <summary>Decodes standard or URL-safe base64 into text if the result is mostly printable; null otherwise.</summary>
    public static string? TryBase64(ReadOnlySpan<char> value)
    {
        if (value.Length < 8 || value.Length > 1 << 20) return null;
        var t = value.ToString().Replace('-', '+').Replace('_', '/').TrimEnd('=');
        t += (t.Length % 4) switch { 2 => "==", 3 => "=", 1 => null, _ => "" };
        if (t.Length % 4 != 0) return null;
        var buffer = new byte[t.Length / 4 * 3];
        if (!Convert.TryFromBase64String(t, buffer, out var n)) return null;
        var text = Encoding.UTF8.GetString(buffer, 0, n);
        var printable = 0;
        foreach (var c in text) if (c is >= ' ' and < '\x7f' or '\n' or '\r' or '\t') printable++;
        return printable >= text.Length * 0.95 ? text : null;
    }

    internal static bool IsBase64Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=' or '-' or '_';
}

/// <summary>CRC-32 (IEEE 802.3, reflected 0xEDB88320), the checksum GitHub and npm tokens carry.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}

internal static class Entropy
{
    /// <summary>Shannon entropy in bits per character.</summary>
    public static double Shannon(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return 0;
        Span<int> counts = stackalloc int[128];
        var other = 0;
        foreach (var c in s) { if (c < 128) counts[c]++; else other++; }
        double h = 0, n = s.Length;
        foreach (var k in counts) if (k > 0) { var p = k / n; h -= p * Math.Log2(p); }
        if (other > 0) { var p = other / n; h -= p * Math.Log2(p); }
        return h;
    }

    /// <summary>How many of lower, upper, digit, symbol occur.</summary>
    public static int CharClasses(ReadOnlySpan<char> s)
    {
        bool lo = false, up = false, di = false, sy = false;
        foreach (var c in s)
        {
            if (char.IsAsciiLetterLower(c)) lo = true;
            else if (char.IsAsciiLetterUpper(c)) up = true;
            else if (char.IsAsciiDigit(c)) di = true;
            else sy = true;
        }
        return (lo ? 1 : 0) + (up ? 1 : 0) + (di ? 1 : 0) + (sy ? 1 : 0);
    }
}
