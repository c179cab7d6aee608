namespace Writ.Scanner.Detection;

/// <summary>Turns the engine's raw candidates in one piece of text into findings: lines, severity, inline allows.</summary>
internal static class ContentScanner
{
    public const string AllowMarker = "writ:allow";

    /// <summary>Scans <paramref name="text"/> whose first line is <paramref name="firstLine"/> of the file.</summary>
    public static void Scan(Engine engine, ReadOnlySpan<char> text, FileContext file, ScanContext ctx, int firstLine,
        List<Finding> findings, ref long allowed)
    {
        var raw = new List<RawFinding>();
        engine.Scan(text, file, ctx, raw);
        if (raw.Count == 0) return;
        raw.Sort((a, b) => a.Start.CompareTo(b.Start));
        int countedTo = 0, line = firstLine;
        var seen = new HashSet<(string, int, string)>();
        foreach (var r in raw)
        {
            var start = Math.Min(r.Start, text.Length);
            line += text[countedTo..start].Count('\n');
            countedTo = start;
            var (ls, le) = Engine.LineAround(text, Math.Min(start, Math.Max(0, text.Length - 1)));
            if (IsAllowed(text, ls, le)) { allowed++; continue; }
            if (!seen.Add((r.Detector.Id, line, r.Secret))) continue;
            var notes = new List<string>();
            if (r.Note is not null) notes.Add(r.Note);
            var severity = SeverityOf(r, file, notes);
            findings.Add(new Finding(r.Detector.Id, r.Detector.Title, severity, file.Path, line, start - ls + 1, r.Secret, notes));
        }
    }

    /// <summary>
    /// Base severity of the format; Low for a failed checksum or an expired token; Medium for an encrypted key;
    /// one level higher (up to Critical) in a file an agent reads as context. Test-mode keys stay Low everywhere.
    /// </summary>
    internal static Severity SeverityOf(RawFinding r, FileContext file, List<string> notes)
    {
        var s = r.Detector.Severity;
        switch (r.Verdict)
        {
            case Verdict.ChecksumMismatch: notes.Add("checksum does not match: a typo, a truncation or a made-up value"); return Severity.Low;
            case Verdict.Expired: notes.Add("expired"); return Severity.Low;
            case Verdict.Encrypted: s = Severity.Medium; break;
        }
        if (s == Severity.Low) { notes.Add("test-mode key"); return s; }
        if (file.IsAgentContext)
        {
            notes.Add("in a file agents read as context");
            s = (Severity)Math.Min((int)Severity.Critical, (int)s + 1);
        }
        return s;
    }

    /// <summary><c>writ:allow</c> on the line, or <c>writ:allow-next-line</c> on the line before.</summary>
    private static bool IsAllowed(ReadOnlySpan<char> text, int ls, int le)
    {
        if (text[ls..le].Contains(AllowMarker, StringComparison.Ordinal)) return true;
        if (ls < 1) return false;
        var (ps, pe) = Engine.LineAround(text, ls - 1);
        return text[ps..pe].Contains(AllowMarker + "-next-line", StringComparison.Ordinal);
    }
}
