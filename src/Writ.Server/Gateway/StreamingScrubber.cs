using System.Buffers;
using System.Text;

namespace Writ.Server.Gateway;

/// <summary>
/// Finds the forms of an upstream credential (<see cref="SecretForms"/>) in bytes, each character of a form written
/// in any of the spellings a leaky upstream produces when it echoes text: as is (UTF-8), percent-encoded (either hex
/// case, '+' for a space), JSON-escaped (<c>\uXXXX</c> either case, <c>\/</c>, <c>\"</c>, <c>\\</c>) or as an HTML
/// character reference (<c>&amp;amp;</c>, <c>&amp;#43;</c>, <c>&amp;#x2B;</c>). So one pattern covers PHP's
/// <c>\/</c>, Go's <c>\u003c</c>, .NET's <c>\u002B</c>, a query string's <c>%2f</c> and an HTML error page alike,
/// also mixed, without a string per combination. Matching is linear in the body for a given credential: a position
/// is tried only when its byte can start a pattern, and a try is bounded by the pattern's length. Compiled once per
/// call; immutable, so headers, buffered and streamed bodies share it.
/// </summary>
internal sealed class SecretMatcher
{
    private static readonly byte[] Replacement = "[redacted]"u8.ToArray();

    /// <summary>The longest spelling of one character: four UTF-8 bytes percent-encoded, or a JSON surrogate pair.</summary>
    private const int MaxSpelling = 12;

    /// <summary>A form as UTF-8, with where each of its characters starts (and, last, where the form ends).</summary>
    private sealed record Pattern(byte[] Utf8, int[] Starts, int[] Runes);

    private readonly Pattern[] _patterns;
    private readonly bool[] _starts = new bool[256];

    /// <summary>Compiled matchers by a hash of what they match; bounded, dropped whole when full (a rotation adds one).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SecretMatcher> Compiled = new(StringComparer.Ordinal);
    private const int MaxCompiled = 256;

    public static readonly SecretMatcher None = new([]);

    /// <summary>
    /// The matcher for a credential and what was injected with it. Compiling costs tens of microseconds, as much as the
    /// rest of a gateway call's own work, so it is done once per credential value. The cache holds what the matcher holds
    /// anyway (the credential's forms), in the process that also holds the master key; its key is a hash, not the secret.
    /// </summary>
    public static SecretMatcher For(string secret, string? injected)
    {
        var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secret + "\0" + injected)));
        if (Compiled.TryGetValue(key, out var cached)) return cached;
        if (Compiled.Count >= MaxCompiled) Compiled.Clear();
        return Compiled[key] = new SecretMatcher(SecretForms.Of(secret, injected));
    }

    /// <summary>Drops every compiled matcher: called when a secret is stored or rotated, so an old value's forms do not linger.</summary>
    public static void Forget() => Compiled.Clear();

    public SecretMatcher(IEnumerable<string> forms)
    {
        _patterns = forms.Where(f => f.Length > 0).Distinct(StringComparer.Ordinal).Select(Compile).ToArray();
        foreach (var p in _patterns)
        {
            _starts[p.Utf8[0]] = true;
            MaxLength = Math.Max(MaxLength, MaxSpelling * p.Runes.Length);
        }
        if (_patterns.Length > 0) _starts['%'] = _starts['\\'] = _starts['&'] = _starts['+'] = true;
    }

    public bool IsEmpty => _patterns.Length == 0;

    /// <summary>The longest byte run one occurrence can take.</summary>
    public int MaxLength { get; }

    /// <summary><paramref name="data"/> with every occurrence replaced by <c>[redacted]</c> (the same array when there is none).</summary>
    public byte[] Replace(byte[] data)
    {
        if (IsEmpty) return data;
        var output = new ArrayBufferWriter<byte>(data.Length + 16);
        var found = Replace(data, data.Length, output, out _);
        return found ? output.WrittenSpan.ToArray() : data;
    }

    /// <summary>
    /// Writes <paramref name="data"/> to <paramref name="output"/> with occurrences replaced, looking for occurrences that
    /// start before <paramref name="limit"/> only; <paramref name="consumed"/> is where it stopped (past <paramref name="limit"/>
    /// when an occurrence ran over it). True when something was replaced.
    /// </summary>
    public bool Replace(ReadOnlySpan<byte> data, int limit, IBufferWriter<byte> output, out int consumed)
    {
        var found = false;
        var copied = 0;
        var i = 0;
        while (i < limit)
        {
            var length = _starts[data[i]] ? MatchAt(data, i) : 0;
            if (length == 0)
            {
                i++;
                continue;
            }
            output.Write(data[copied..i]);
            output.Write(Replacement);
            found = true;
            i += length;
            copied = i;
        }
        output.Write(data[copied..i]);
        consumed = i;
        return found;
    }

    public string Replace(string text)
    {
        if (IsEmpty) return text;
        var bytes = Encoding.UTF8.GetBytes(text);
        var scrubbed = Replace(bytes);
        return ReferenceEquals(bytes, scrubbed) ? text : Encoding.UTF8.GetString(scrubbed);
    }

    /// <summary>The length of the longest occurrence starting at <paramref name="start"/>, 0 when none does.</summary>
    private int MatchAt(ReadOnlySpan<byte> data, int start)
    {
        var best = 0;
        foreach (var p in _patterns)
        {
            HashSet<(int, int)>? failed = null;
            var end = Match(p, 0, data, start, ref failed);
            if (end > start) best = Math.Max(best, end - start);
        }
        return best;
    }

    /// <summary>
    /// Where the characters from <paramref name="unit"/> on end when matched from <paramref name="at"/>, or -1. Each
    /// character is either its own UTF-8 bytes or one escape that decodes to it; when both fit (a raw '%', '&amp;', '\'
    /// or '+' in the secret), the escape is tried first and the raw byte if the rest then fails. Tails already known to
    /// fail are remembered in <paramref name="failed"/>, so a secret with a run of such characters against data full of
    /// escapes (<c>\\\\…</c>) costs each (character, position) once instead of every combination of spellings.
    /// </summary>
    private static int Match(Pattern p, int unit, ReadOnlySpan<byte> data, int at, ref HashSet<(int, int)>? failed)
    {
        for (; unit < p.Runes.Length; unit++)
        {
            var rest = data[at..];
            var raw = rest.StartsWith(p.Utf8.AsSpan(p.Starts[unit], p.Starts[unit + 1] - p.Starts[unit])) ? p.Starts[unit + 1] - p.Starts[unit] : 0;
            var escaped = Unescape(rest, out var rune) is var length and > 0 && rune == p.Runes[unit] ? length : 0;
            if (escaped > 0 && raw > 0)
            {
                var tail = (unit + 1, at + escaped);
                if (failed is null || !failed.Contains(tail))
                {
                    var end = Match(p, unit + 1, data, at + escaped, ref failed);
                    if (end >= 0) return end;
                    (failed ??= []).Add(tail);
                }
                escaped = 0;
            }
            if (escaped == 0 && raw == 0) return -1;
            at += escaped > 0 ? escaped : raw;
        }
        return at;
    }

    /// <summary>
    /// Reads one escaped character at the start of <paramref name="s"/>: <c>%XX</c> (a whole UTF-8 sequence, either
    /// hex case), <c>+</c> (a space, as forms write it), <c>\uXXXX</c> (a surrogate pair as two), <c>\/</c>, <c>\"</c>,
    /// <c>\\</c>, or an HTML reference (<c>&amp;amp;</c>, <c>&amp;lt;</c>, <c>&amp;gt;</c>, <c>&amp;quot;</c>,
    /// <c>&amp;apos;</c>, <c>&amp;#NN;</c>, <c>&amp;#xNN;</c>). Its length, or 0 when there is none.
    /// </summary>
    internal static int Unescape(ReadOnlySpan<byte> s, out int rune)
    {
        rune = -1;
        if (s.IsEmpty) return 0;
        switch (s[0])
        {
            case (byte)'+':
                rune = ' ';
                return 1;
            case (byte)'%':
            {
                if (!TryHex(s, 1, 2, out var first)) return 0;
                var n = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 0;
                if (n == 0 || s.Length < 3 * n) return 0;
                Span<byte> bytes = stackalloc byte[4];
                bytes[0] = (byte)first;
                for (var k = 1; k < n; k++)
                {
                    if (s[3 * k] != '%' || !TryHex(s, 3 * k + 1, 2, out var b)) return 0;
                    bytes[k] = (byte)b;
                }
                if (Rune.DecodeFromUtf8(bytes[..n], out var r, out _) != System.Buffers.OperationStatus.Done) return 0;
                rune = r.Value;
                return 3 * n;
            }
            case (byte)'\\':
                if (s.Length < 2) return 0;
                if (s[1] is (byte)'/' or (byte)'"' or (byte)'\\')
                {
                    rune = s[1];
                    return 2;
                }
                if (s[1] != 'u' || !TryHex(s, 2, 4, out var unit)) return 0;
                if (!char.IsHighSurrogate((char)unit))
                {
                    if (char.IsLowSurrogate((char)unit)) return 0;
                    rune = unit;
                    return 6;
                }
                if (s.Length < 12 || s[6] != '\\' || s[7] != 'u' || !TryHex(s, 8, 4, out var low) || !char.IsLowSurrogate((char)low)) return 0;
                rune = char.ConvertToUtf32((char)unit, (char)low);
                return 12;
            case (byte)'&':
            {
                var semi = s[..Math.Min(s.Length, 11)].IndexOf((byte)';');
                if (semi < 3) return 0;
                var name = s[1..semi];
                if (name[0] == '#')
                {
                    var hex = name.Length > 1 && (name[1] | 0x20) == 'x';
                    var digits = name[(hex ? 2 : 1)..];
                    if (digits.IsEmpty || !int.TryParse(digits, hex ? System.Globalization.NumberStyles.AllowHexSpecifier : System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
                        || !Rune.IsValid(value)) return 0;
                    rune = value;
                }
                else if (name.SequenceEqual("amp"u8)) rune = '&';
                else if (name.SequenceEqual("lt"u8)) rune = '<';
                else if (name.SequenceEqual("gt"u8)) rune = '>';
                else if (name.SequenceEqual("quot"u8)) rune = '"';
                else if (name.SequenceEqual("apos"u8)) rune = '\'';
                else return 0;
                return semi + 1;
            }
            default:
                return 0;
        }
    }

    private static bool TryHex(ReadOnlySpan<byte> s, int from, int count, out int value)
    {
        value = 0;
        if (s.Length < from + count) return false;
        for (var k = from; k < from + count; k++)
        {
            var c = s[k];
            if (!char.IsAsciiHexDigit((char)c)) return false;
            value = (value << 4) | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return true;
    }

    private static Pattern Compile(string form)
    {
        var runes = form.EnumerateRunes().Select(r => r.Value).ToArray();
        var starts = new int[runes.Length + 1];
        var utf8 = Encoding.UTF8.GetBytes(form);
        var at = 0;
        for (var k = 0; k < runes.Length; k++)
        {
            starts[k] = at;
            at += new Rune(runes[k]).Utf8SequenceLength;
        }
        starts[runes.Length] = at;
        return new Pattern(utf8, starts, runes);
    }
}

/// <summary>
/// Replaces every occurrence of the upstream credential's forms in a response body as it streams through, without
/// buffering the body whole: it holds back the last (longest occurrence − 1) bytes of each chunk, unscrubbed, so an
/// occurrence split across chunks is still found whole.
/// </summary>
internal sealed class StreamingScrubber(SecretMatcher matcher)
{
    private byte[] _held = [];

    public StreamingScrubber(IEnumerable<string> forms) : this(new SecretMatcher(forms))
    {
    }

    private int HoldBack => matcher.IsEmpty ? 0 : matcher.MaxLength - 1;

    /// <summary>
    /// Scrubs <paramref name="chunk"/> (after what was held back) and returns what may be sent now. Only occurrences that
    /// start where the whole of the longest one is already here are replaced; the tail is held back unscrubbed, so a
    /// shorter form never cuts a longer one that is still arriving.
    /// </summary>
    public byte[] Push(ReadOnlySpan<byte> chunk)
    {
        var data = new byte[_held.Length + chunk.Length];
        _held.CopyTo(data, 0);
        chunk.CopyTo(data.AsSpan(_held.Length));
        var limit = Math.Max(0, data.Length - HoldBack);
        var output = new ArrayBufferWriter<byte>(data.Length + 16);
        matcher.Replace(data, limit, output, out var consumed);
        _held = data[consumed..];
        return output.WrittenSpan.ToArray();
    }

    /// <summary>What is still held back, scrubbed; call once at the end of the body.</summary>
    public byte[] Flush()
    {
        var rest = matcher.Replace(_held);
        _held = [];
        return rest;
    }
}
