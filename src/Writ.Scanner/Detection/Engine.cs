using System.Text;
using System.Text.RegularExpressions;

namespace Writ.Scanner.Detection;

/// <summary>A candidate before line numbers and severity: where it is in the scanned text and who found it.</summary>
internal sealed record RawFinding(Detector Detector, int Start, int End, string Secret, Verdict Verdict, string? Note)
{
    public int LineOverride { get; init; } = -1;
}

/// <summary>
/// Scans text. One pass of <see cref="KeywordIndex{T}"/> over every keyword of every detector
/// finds the few places worth a closer look; only the line around each keyword hit goes to a detector.
/// Encoded payloads (base64 runs that decode to a known prefix, URL-encoded URLs, Kubernetes Secret data)
/// are decoded and scanned again, one level deep.
/// </summary>
internal sealed partial class Engine
{
    private const int MaxWindow = 4096;
    private const int MaxDepth = 2;

    private readonly KeywordIndex<Entry> _index;
    private readonly int _detectorCount;

    private sealed record Entry(string Keyword, Detector? Detector, EntryKind Kind);

    private enum EntryKind { Detector, Base64, UrlEncoded }

    public static Engine Default { get; } = new(Catalog.All);

    public IReadOnlyList<Detector> Detectors { get; }

    public Engine(IReadOnlyList<Detector> detectors)
    {
        Detectors = detectors;
        _detectorCount = detectors.Count == 0 ? 0 : detectors.Max(d => d.Index) + 1;
        var entries = new List<Entry>();
        foreach (var d in detectors)
            foreach (var k in d.Keywords) entries.Add(new Entry(k, d, EntryKind.Detector));
        var seen = new HashSet<string>(entries.Select(e => e.Keyword), StringComparer.Ordinal);
        foreach (var d in detectors.Where(d => d.StrictFormat && d.Kind == DetectorKind.Regex))
            foreach (var k in d.Keywords.Where(k => k.Length >= 3))
                foreach (var b in Base64Forms(k))
                    if (seen.Add(b)) entries.Add(new Entry(b, null, EntryKind.Base64));
        foreach (var k in new[] { "%3A%2F%2F", "%3a%2f%2f" })
            if (seen.Add(k)) entries.Add(new Entry(k, null, EntryKind.UrlEncoded));
        // Two-character keywords become three: the index needs three (Azure AD secrets have a digit before "Q~").
        var expanded = entries.SelectMany(e => e.Keyword.Length >= 3 ? [e]
            : "0123456789".Select(c => e with { Keyword = c + e.Keyword }));
        _index = new KeywordIndex<Entry>(expanded.Select(e => (e.Keyword, e)));
    }

    public int KeywordCount => _index.Count;

    /// <summary>
    /// The parts of base64(x + keyword) that do not depend on x, for the three alignments of the keyword in
    /// the encoded byte stream; at least 4 characters or the form is too common to be worth a hit.
    /// </summary>
    internal static IEnumerable<string> Base64Forms(string keyword)
    {
        var kw = Encoding.ASCII.GetBytes(keyword);
        for (var offset = 0; offset < 3; offset++)
        {
            var buf = new byte[offset + kw.Length];
            kw.CopyTo(buf, offset);
            var full = buf.Length / 3 * 3;
            var enc = Convert.ToBase64String(buf, 0, full);
            var skip = offset switch { 0 => 0, 1 => 2, _ => 3 };
            if (enc.Length - skip >= 4 && (offset == 0 || keyword.Length >= 4)) yield return enc[skip..];
        }
    }

    /// <summary>Scans <paramref name="text"/>; findings carry positions in it.</summary>
    public void Scan(ReadOnlySpan<char> text, FileContext file, ScanContext ctx, List<RawFinding> output, int depth = 0)
    {
        // Per detector, the position up to which its pattern has already run: a line with 50,000 keyword
        // hits costs one pass per window, not one per hit (see PathologicalTests).
        Span<int> coveredUntil = _detectorCount <= 256 ? stackalloc int[_detectorCount] : new int[_detectorCount];
        coveredUntil.Clear();
        var base64CoveredUntil = 0;
        var first = output.Count;
        var pos = 0;
        var candidates = new List<(int, Entry)>(8);
        while (pos < text.Length)
        {
            var anchor = _index.Next(text, pos);
            if (anchor < 0) break;
            pos = anchor + 1;
            foreach (var (hit, e) in _index.At(text, anchor, candidates))
            {
                if (e.Kind == EntryKind.Base64)
                {
                    if (depth < MaxDepth && hit >= base64CoveredUntil) base64CoveredUntil = ScanBase64Run(text, hit, file, ctx, output, depth);
                    continue;
                }
                if (e.Kind == EntryKind.UrlEncoded) { if (depth < MaxDepth) ScanUrlEncoded(text, hit, file, ctx, output, depth); continue; }
                var d = e.Detector!;
                if (d.AppliesTo is not null && !d.AppliesTo(file)) continue;
                if (d.Kind is DetectorKind.Regex or DetectorKind.KubernetesSecret && hit < coveredUntil[d.Index]) continue;
                var (ls, le) = LineAround(text, hit);
                switch (d.Kind)
                {
                    case DetectorKind.Regex:
                        RunRegex(d, text, ls, le, ctx, output);
                        // A window clipped mid-line is re-opened for hits near its end, so a token crossing the clip is still seen whole.
                        coveredUntil[d.Index] = le == text.Length || text[le] == '\n' ? le + 1 : le - MaxWindow / 8;
                        break;
                    case DetectorKind.Generic: RunGeneric(d, text, hit, ls, le, file, output); break;
                    case DetectorKind.PrivateKeyBlock: PrivateKeys.Scan(text, hit, output); break;
                    case DetectorKind.KubernetesSecret:
                        if (depth < MaxDepth) coveredUntil[d.Index] = KubernetesSecrets.Scan(this, text, hit, file, ctx, output, depth);
                        break;
                }
            }
        }
        RemoveOverlaps(output, first);
    }

    /// <summary>The line around <paramref name="hit"/>, clipped to <see cref="MaxWindow"/> so minified files stay linear.</summary>
    internal static (int Start, int End) LineAround(ReadOnlySpan<char> text, int hit)
    {
        var back = Math.Max(0, hit - MaxWindow / 4);
        var nl = text[back..hit].LastIndexOf('\n');
        var ls = nl >= 0 ? back + nl + 1 : back;
        var fwdEnd = Math.Min(text.Length, hit + MaxWindow);
        var nr = text[hit..fwdEnd].IndexOf('\n');
        var le = nr >= 0 ? hit + nr : fwdEnd;
        return (ls, le);
    }

    private static void RunRegex(Detector d, ReadOnlySpan<char> text, int ls, int le, ScanContext ctx, List<RawFinding> output)
    {
        var window = text[ls..le];
        var found = false;
        foreach (var _ in d.Pattern!.EnumerateMatches(window)) { found = true; break; }
        if (found) { EmitMatches(d, window.ToString(), ls, 0, ctx, output, null); return; }
        // Split-string concatenation, best effort: "ghp_abc" + "def" on one line.
        if (window.Contains('+') || window.Contains(" . ", StringComparison.Ordinal))
        {
            var joined = Concatenation().Replace(window.ToString(), "");
            if (joined.Length != window.Length && d.Pattern.IsMatch(joined))
                EmitMatches(d, joined, ls, le - ls, ctx, output, "joined from concatenated string literals");
        }
    }

    /// <summary>Emits every match; with <paramref name="originLength"/> &gt; 0 positions map to the whole origin span instead.</summary>
    private static void EmitMatches(Detector d, string window, int origin, int originLength, ScanContext ctx, List<RawFinding> output, string? note)
    {
        foreach (Match m in d.Pattern!.Matches(window))
        {
            var g = m.Groups["s"];
            var cap = g.Success ? g : (Group)m;
            var secret = cap.Value;
            if (!Accept(d, secret)) continue;
            var verdict = d.Validate?.Invoke(secret, ctx) ?? Verdict.Valid;
            if (verdict == Verdict.Reject) continue;
            var (s, e) = originLength > 0 ? (origin, origin + originLength) : (origin + cap.Index, origin + cap.Index + cap.Length);
            output.Add(new RawFinding(d, s, e, secret, verdict, note));
        }
    }

    internal static bool Accept(Detector d, string secret)
    {
        if (Suppressor.IsDocumentedExample(secret) || Suppressor.IsStructuralPlaceholder(secret)) return false;
        if (!d.StrictFormat && (Suppressor.IsPlaceholder(secret) || Suppressor.IsReference(secret))) return false;
        return true;
    }

    private static void RunGeneric(Detector d, ReadOnlySpan<char> text, int hit, int ls, int le, FileContext file, List<RawFinding> output)
    {
        var m = GenericDetector.Match(text, hit, ls, le, file);
        if (m is not { } v) return;
        var secret = text.Slice(v.Start, v.Length).ToString();
        foreach (var f in output) if (f.Detector == d && f.Start == v.Start) return;   // several keywords in one key
        output.Add(new RawFinding(d, v.Start, v.Start + v.Length, secret, Verdict.Valid, null));
    }

    /// <summary>Decodes the base64 run around <paramref name="hit"/> and scans it; returns where the run ends.</summary>
    private int ScanBase64Run(ReadOnlySpan<char> text, int hit, FileContext file, ScanContext ctx, List<RawFinding> output, int depth)
    {
        var s = hit;
        while (s > 0 && hit - s < MaxWindow && Validators.IsBase64Char(text[s - 1])) s--;
        var e = hit;
        while (e < text.Length && e - hit < 64 * 1024 && Validators.IsBase64Char(text[e])) e++;
        // A run may start mid-quad when it follows other base64-ish text; try the four alignments.
        for (var shift = 0; shift < 4 && s + shift <= hit; shift++)
        {
            var decoded = Validators.TryBase64(text[(s + shift)..e]);
            if (decoded is null) continue;
            ScanDecoded(decoded, s, e, "base64-decoded", file, ctx, output, depth);
            break;
        }
        return e;
    }

    private void ScanUrlEncoded(ReadOnlySpan<char> text, int hit, FileContext file, ScanContext ctx, List<RawFinding> output, int depth)
    {
        var (ls, le) = LineAround(text, hit);
        var decoded = Uri.UnescapeDataString(text[ls..le].ToString());
        ScanDecoded(decoded, ls, le, "url-decoded", file, ctx, output, depth);
    }

    internal void ScanDecoded(string decoded, int originStart, int originEnd, string note, FileContext file, ScanContext ctx, List<RawFinding> output, int depth)
    {
        var inner = new List<RawFinding>();
        Scan(decoded, file, ctx, inner, depth + 1);
        foreach (var f in inner)
        {
            if (output.Any(o => o.Secret == f.Secret && o.Detector == f.Detector)) continue;
            output.Add(f with { Start = originStart, End = originEnd, Note = f.Note is null ? note : $"{note}, {f.Note}" });
        }
    }

    /// <summary>When two detectors claim overlapping text, the one earlier in the catalog (more specific) wins.</summary>
    private static void RemoveOverlaps(List<RawFinding> output, int first)
    {
        if (output.Count - first < 2) return;
        var span = output.GetRange(first, output.Count - first);
        span.Sort((a, b) => a.Detector.Index != b.Detector.Index ? a.Detector.Index.CompareTo(b.Detector.Index) : a.Start.CompareTo(b.Start));
        var kept = new List<RawFinding>(span.Count);
        foreach (var f in span)
        {
            var clash = false;
            foreach (var k in kept)
            {
                if (k.Start < f.End && f.Start < k.End && (k.Detector != f.Detector || k.Secret == f.Secret)) { clash = true; break; }
            }
            if (!clash) kept.Add(f);
        }
        kept.Sort((a, b) => a.Start.CompareTo(b.Start));
        output.RemoveRange(first, output.Count - first);
        output.AddRange(kept);
    }

    [GeneratedRegex(@"[""']\s{0,4}(\+|\.)\s{0,4}[""']", RegexOptions.CultureInvariant)]
    private static partial Regex Concatenation();
}
