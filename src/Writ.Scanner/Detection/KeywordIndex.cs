using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Writ.Scanner.Detection;

/// <summary>
/// The prefilter: finds positions where some keyword may start. For every keyword its rarest three
/// characters (the anchor: punctuation, digits and capitals beat common lower-case trigrams, so
/// <c>client_secret</c> is anchored on <c>t_s</c>, not on the <c>cli</c> of every <c>client</c>) are hashed into a 2^20-bit table (128 KiB, stays in L2); the scan reads four characters at a time,
/// masks to three, multiplies and tests one bit per position, and only a set bit costs a lookup.
/// <see cref="System.Buffers.SearchValues{T}"/> was measured first: with the ~600 keyword spellings it
/// falls back to Aho-Corasick at ~20 Mchar/s on the 2-core test box, and Teddy is only used up to a few
/// dozen values (see docs/scanner.md, "Performance").
/// </summary>
internal sealed class KeywordIndex<T> where T : class
{
    private const int Bits = 20;
    private readonly ulong[] _table = new ulong[(1 << Bits) / 64];
    private readonly Dictionary<ulong, (string Keyword, int Offset, T Value)[]> _byPrefix;

    public KeywordIndex(IEnumerable<(string Keyword, T Value)> entries)
    {
        var list = entries.Where(e => e.Keyword.Length >= 3).ToList();
        if (list.Count != entries.Count()) throw new ArgumentException("keywords must have at least three characters");
        _byPrefix = list.Select(e => (e.Keyword, Offset: AnchorOffset(e.Keyword), e.Value))
            .GroupBy(e => Prefix(e.Keyword.AsSpan(e.Offset))).ToDictionary(g => g.Key, g => g.ToArray());
        foreach (var p in _byPrefix.Keys) { var h = Hash(p); _table[h >> 6] |= 1UL << (int)h; }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ulong three) => (uint)((three * 0x9E3779B97F4A7C15UL) >> (64 - Bits));

    /// <summary>The next position at or after <paramref name="from"/> holding some keyword's anchor, or -1.</summary>
    public int Next(ReadOnlySpan<char> text, int from)
    {
        var table = _table;
        ref var start = ref MemoryMarshal.GetReference(text);
        var lastWide = text.Length - 4;   // last position where 4 chars can be read at once
        var i = from;
        for (; i <= lastWide; i++)
        {
            var v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<char, byte>(ref Unsafe.Add(ref start, i))) & 0xFFFF_FFFF_FFFFUL;
            var h = Hash(v);
            if ((table[h >> 6] & (1UL << (int)h)) != 0 && _byPrefix.ContainsKey(v)) return i;
        }
        for (; i <= text.Length - 3; i++)
            if (_byPrefix.ContainsKey(Prefix(text[i..]))) return i;
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
