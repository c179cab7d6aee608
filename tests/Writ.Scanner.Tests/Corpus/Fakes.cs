using System.Text;
using Writ.Scanner.Detection;

namespace Writ.Scanner.Tests.Corpus;

/// <summary>
/// Random but well-formed fake secrets, generated at run time from a seed. Prefixes are split in the
/// source ("gh" + "p_") so this file itself does not look like it holds credentials.
/// </summary>
public sealed class Fakes(int seed)
{
    private readonly Random _r = new(seed);
    public const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", Lower = "abcdefghijklmnopqrstuvwxyz", Digits = "0123456789";
    public const string Alnum = Upper + Lower + Digits, HexChars = "0123456789abcdef", B64Chars = Alnum + "+/";

    public Random Random => _r;
    public string Of(string set, int n) { var sb = new StringBuilder(n); for (var i = 0; i < n; i++) sb.Append(set[_r.Next(set.Length)]); return sb.ToString(); }
    public string An(int n) => Of(Alnum, n);
    public string Hex(int n) => Of(HexChars, n);
    public string Letters(int n) => Of(Upper + Lower, n);
    public string Num(int n) => Of(Digits, n);
    public string UrlSafe(int n) => Of(Alnum + "_-", n);
    public string B64(int bytes) { var b = new byte[bytes]; _r.NextBytes(b); return Convert.ToBase64String(b); }
    public string Uuid() => new Guid(Enumerable.Range(0, 16).Select(_ => (byte)_r.Next(256)).ToArray()).ToString();

    /// <summary>A GitHub/npm style token with the right CRC32 checksum.</summary>
    public string Checksummed(string prefix) { var body = An(30); return prefix + body + Validators.Base62Checksum(body); }

    public string Jwt(long exp)
    {
        static string U(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return U("{\"alg\":\"HS256\",\"typ\":\"JWT\"}") + "." + U($"{{\"sub\":\"{An(12)}\",\"exp\":{exp},\"scope\":\"repo\"}}") + "." + UrlSafe(43);
    }

    public string Pem(string label, int bodyBytes = 900)
    {
        var body = B64(bodyBytes);
        var lines = Enumerable.Range(0, (body.Length + 63) / 64).Select(i => body.Substring(i * 64, Math.Min(64, body.Length - i * 64)));
        return $"-----BEGIN {label}-----\n{string.Join("\n", lines)}\n-----END {label}-----";
    }

    public string OpenSsh()
    {
        var payload = new List<byte>(Encoding.ASCII.GetBytes("openssh-key-v1\0"));
        payload.AddRange([0, 0, 0, 4]); payload.AddRange(Encoding.ASCII.GetBytes("none"));
        var rest = new byte[380]; _r.NextBytes(rest); payload.AddRange(rest);
        var body = Convert.ToBase64String(payload.ToArray());
        var lines = Enumerable.Range(0, (body.Length + 69) / 70).Select(i => body.Substring(i * 70, Math.Min(70, body.Length - i * 70)));
        return $"-----BEGIN OPENSSH {"PRIVATE"} KEY-----\n{string.Join("\n", lines)}\n-----END OPENSSH {"PRIVATE"} KEY-----";
    }

    /// <summary>A password as people pick them: words, digits, a symbol.</summary>
    public string Password()
    {
        string[] words = ["Falcon", "river", "Quartz", "maple", "Orbit", "cobalt", "Tundra", "violet", "Harbor", "ember"];
        return words[_r.Next(words.Length)] + Num(2) + "!#%&*"[_r.Next(5)] + words[_r.Next(words.Length)].ToLowerInvariant() + Num(2);
    }
}
