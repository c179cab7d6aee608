using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Writ.Scanner.Detection;

/// <summary>
/// The prefilter: finds positions where some keyword may start. For every keyword its rarest three
/// characters (the anchor: punctuation, digits and capitals beat common lower-case trigrams, so
/// <c>client_secret</c> is anchored on <c>t_s</c>, not on the <c>cli</c> of every <c>client</c>) index a 2^21-bit table (256 KiB) by their low 7 bits each; the scan keeps that key rolling over the
/// text and tests one bit per position, and only a set bit costs a dictionary lookup.
/// <see cref="System.Buffers.SearchValues{T}"/> was measured first: with the ~600 keyword spellings it
/// falls back to Aho-Corasick at ~20 Mchar/s on the 2-core test box, and Teddy is only used up to a few
/// dozen values (see docs/scanner.md, "Performance").
/// </summary>
internal sealed class KeywordIndex<T> where T : class
{
    private const uint RollingMask = (1u << 21) - 1;
    private readonly ulong[] _rolling = new ulong[(1 << 21) / 64];
    private readonly Dictionary<ulong, (string Keyword, int Offset, T Value)[]> _byPrefix;

    public KeywordIndex(IEnumerable<(string Keyword, T Value)> entries)
    {
        var list = entries.Where(e => e.Keyword.Length >= 3).ToList();
        if (list.Count != entries.Count()) throw new ArgumentException("keywords must have at least three characters");
        _byPrefix = list.Select(e => (e.Keyword, Offset: AnchorOffset(e.Keyword), e.Value))
            .GroupBy(e => Prefix(e.Keyword.AsSpan(e.Offset))).ToDictionary(g => g.Key, g => g.ToArray());
        foreach (var p in _byPrefix.Keys)
        {
            var key = (uint)(((p & 0x7F) << 14) | (((p >> 16) & 0x7F) << 7) | ((p >> 32) & 0x7F));
            _rolling[key >> 6] |= 1UL << (int)key;
        }
    }

    public int Count => _byPrefix.Values.Sum(v => v.Length);

    /// <summary>Trigrams so common in code and prose that anchoring on them would stop the scan every few lines.</summary>
    private static readonly HashSet<string> Common =
    [
        "the", "and", "ing", "ion", "tio", "ent", "ati", "for", "her", "ter", "con", "res", "ver", "all", "ons", "nce", "men",
        "pro", "ess", "ect", "com", "per", "int", "est", "sta", "cre", "acc", "pri", "cli", "fig", "ser", "str", "ret", "val",
        "get", "set", "sec", "ate", "ode", "pre", "rea", "ass", "ord", "ken", "oke", "tok", "ien", "ore", "orm", "ous", "ost",
    ];

    /// <summary>Where the anchor trigram starts: the highest score, earliest on ties.</summary>
    internal static int AnchorOffset(string keyword)
    {
        int best = 0, bestScore = int.MinValue;
        for (var i = 0; i + 3 <= keyword.Length; i++)
        {
            var score = 0;
            foreach (var c in keyword.AsSpan(i, 3))
                score += char.IsAsciiLetterLower(c) ? ("kwvxzjqyfbgp".Contains(c) ? 3 : 1) : char.IsAsciiLetterUpper(c) ? (i == 0 ? 3 : 5) : 10;
            if (Common.Contains(keyword.Substring(i, 3).ToLowerInvariant())) score -= 6;
            if (score > bestScore) { best = i; bestScore = score; }
        }
        return best;
    }

    private static ulong Prefix(ReadOnlySpan<char> s) => s[0] | ((ulong)s[1] << 16) | ((ulong)s[2] << 32);

    /// <summary>The next position at or after <paramref name="from"/> holding some keyword's anchor, or -1.</summary>
    /// <remarks>
    /// A rolling 21-bit key (the low 7 bits of three consecutive characters) indexes a bit table directly, so
    /// each position costs a shift, an or, a load and a test; a set bit is confirmed against the exact anchors.
    /// Non-ASCII characters alias onto ASCII keys, which only costs a confirmation.
    /// </remarks>
    public int Next(ReadOnlySpan<char> text, int from)
    {
        var table = _rolling;
        var n = text.Length;
        if (n - from < 3) return -1;
        ref var t = ref MemoryMarshal.GetReference(text);
        var key = ((uint)(Unsafe.Add(ref t, from) & 0x7F) << 7) | (uint)(Unsafe.Add(ref t, from + 1) & 0x7F);
        for (var i = from; i + 2 < n; i++)
        {
            key = ((key << 7) | (uint)(Unsafe.Add(ref t, i + 2) & 0x7F)) & RollingMask;
            if ((Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(table), (int)(key >> 6)) & (1UL << (int)key)) != 0
                && _byPrefix.ContainsKey(Prefix(text[i..])))
                return i;
        }
        return -1;
    }

    /// <summary>The keywords whose anchor is at <paramref name="at"/> and that match in full, with where they start.</summary>
    public List<(int Start, T Value)> At(ReadOnlySpan<char> text, int at, List<(int, T)> buffer)
    {
        buffer.Clear();
        if (at + 3 > text.Length || !_byPrefix.TryGetValue(Prefix(text[at..]), out var entries)) return buffer;
        foreach (var (keyword, offset, value) in entries)
        {
            var start = at - offset;
            if (start >= 0 && text[start..].StartsWith(keyword, StringComparison.Ordinal)) buffer.Add((start, value));
        }
        return buffer;
    }
}
