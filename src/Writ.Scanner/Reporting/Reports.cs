using System.Text;
using System.Text.Json;

namespace Writ.Scanner.Reporting;

public enum ReportFormat { Table, Json, Sarif }

/// <summary>
/// Writes a <see cref="ScanReport"/>. Secrets are redacted (prefix + fingerprint) unless
/// <paramref name="showSecrets"/> is set, which only <c>--show-secrets</c> does.
/// </summary>
public static class ReportWriter
{
    public const string ToolVersion = "0.1.0";
    public const string InformationUri = "https://github.com/writ-dev/writ/blob/main/docs/scanner.md";

    public static void Write(ScanReport report, ReportFormat format, TextWriter output, bool showSecrets)
    {
        switch (format)
        {
            case ReportFormat.Json: WriteJson(report, output, showSecrets); break;
            case ReportFormat.Sarif: WriteSarif(report, output, showSecrets); break;
            default: WriteTable(report, output, showSecrets); break;
        }
    }

    public static string Name(Severity s) => s.ToString().ToLowerInvariant();

    public static void WriteTable(ScanReport report, TextWriter o, bool showSecrets)
    {
        if (report.Findings.Count > 0)
        {
            var rows = report.Findings.Select(f => (
                Sev: Name(f.Severity), f.RuleId,
                Loc: $"{f.Path}:{f.Line}:{f.Column}" + (f.Commit is null ? "" : $" @{f.Commit[..Math.Min(10, f.Commit.Length)]}"),
                Secret: showSecrets ? f.Secret.ReplaceLineEndings(" ") : f.Redacted,
                Notes: string.Join("; ", f.Notes))).ToList();
            int w1 = Math.Max(8, rows.Max(r => r.Sev.Length)), w2 = Math.Max(4, rows.Max(r => r.RuleId.Length)), w3 = Math.Min(70, Math.Max(8, rows.Max(r => r.Loc.Length)));
            o.WriteLine($"{"SEVERITY".PadRight(w1)}  {"RULE".PadRight(w2)}  {"LOCATION".PadRight(w3)}  SECRET");
            foreach (var r in rows)
                o.WriteLine($"{r.Sev.PadRight(w1)}  {r.RuleId.PadRight(w2)}  {r.Loc.PadRight(w3)}  {r.Secret}{(r.Notes.Length > 0 ? "  (" + r.Notes + ")" : "")}");
            o.WriteLine();
        }
        var bySev = report.Findings.GroupBy(f => f.Severity).OrderByDescending(g => g.Key).Select(g => $"{g.Count()} {Name(g.Key)}");
        var summary = report.Findings.Count == 0 ? "no secrets found" : $"{report.Findings.Count} finding{(report.Findings.Count == 1 ? "" : "s")} ({string.Join(", ", bySev)})";
        o.WriteLine($"{summary} in {report.FilesScanned:N0} files, {report.BytesScanned / 1048576.0:F1} MiB, {report.Elapsed.TotalSeconds:F2} s");
        var skipped = new List<string>();
        if (report.SkippedBinary > 0) skipped.Add($"{report.SkippedBinary:N0} binary");
        if (report.SkippedTooLarge > 0) skipped.Add($"{report.SkippedTooLarge:N0} over the size limit (--max-file-size)");
        if (report.SkippedIgnored > 0) skipped.Add($"{report.SkippedIgnored:N0} by .writignore");
        if (report.AllowedInline > 0) skipped.Add($"{report.AllowedInline:N0} findings accepted (writ:allow / .writignore)");
        if (report.SuppressedByBaseline > 0) skipped.Add($"{report.SuppressedByBaseline:N0} findings already in the baseline");
        if (report.Errors.Count > 0) skipped.Add($"{report.Errors.Count:N0} unreadable");
        if (skipped.Count > 0) o.WriteLine("skipped: " + string.Join(", ", skipped));
    }

    public static void WriteJson(ScanReport report, TextWriter o, bool showSecrets)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("tool", "writ scan");
            w.WriteString("version", ToolVersion);
            w.WriteStartObject("summary");
            w.WriteNumber("files", report.FilesScanned);
            w.WriteNumber("bytes", report.BytesScanned);
            w.WriteNumber("seconds", Math.Round(report.Elapsed.TotalSeconds, 3));
            w.WriteNumber("findings", report.Findings.Count);
            w.WriteNumber("skippedBinary", report.SkippedBinary);
            w.WriteNumber("skippedTooLarge", report.SkippedTooLarge);
            w.WriteNumber("skippedIgnored", report.SkippedIgnored);
            w.WriteNumber("accepted", report.AllowedInline);
            w.WriteNumber("inBaseline", report.SuppressedByBaseline);
            w.WriteEndObject();
            w.WriteStartArray("findings");
            foreach (var f in report.Findings)
            {
                w.WriteStartObject();
                w.WriteString("rule", f.RuleId);
                w.WriteString("title", f.Title);
                w.WriteString("severity", Name(f.Severity));
                w.WriteString("path", f.Path);
                w.WriteNumber("line", f.Line);
                w.WriteNumber("column", f.Column);
                if (f.Commit is not null) w.WriteString("commit", f.Commit);
                w.WriteString("fingerprint", f.Fingerprint);
                w.WriteString("redacted", f.Redacted);
                if (showSecrets) w.WriteString("secret", f.Secret);
                w.WriteStartArray("notes");
                foreach (var n in f.Notes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("errors");
            foreach (var e in report.Errors) { w.WriteStartObject(); w.WriteString("path", e.Path); w.WriteString("message", e.Message); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        o.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>
    /// SARIF 2.1.0 as GitHub code scanning ingests it: one rule per detector with a
    /// <c>security-severity</c> score, <c>%SRCROOT%</c>-relative locations and a partial fingerprint so that
    /// alerts survive line moves.
    /// </summary>
    public static void WriteSarif(ScanReport report, TextWriter o, bool showSecrets)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
            w.WriteString("version", "2.1.0");
            w.WriteStartArray("runs");
            w.WriteStartObject();
            w.WriteStartObject("tool");
            w.WriteStartObject("driver");
            w.WriteString("name", "writ-scan");
            w.WriteString("semanticVersion", ToolVersion);
            w.WriteString("informationUri", InformationUri);
            w.WriteStartArray("rules");
            var ruleIndex = new Dictionary<string, int>();
            foreach (var (id, title, severity) in WorkspaceScanner.Rules)
            {
                ruleIndex[id] = ruleIndex.Count;
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteString("name", string.Concat(id.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..])));
                w.WriteStartObject("shortDescription"); w.WriteString("text", title); w.WriteEndObject();
                w.WriteStartObject("fullDescription"); w.WriteString("text", $"{title} committed to or present in the workspace."); w.WriteEndObject();
                w.WriteStartObject("help");
                w.WriteString("text", "Revoke and rotate the credential, remove it from the file (and from git history), and hand agents task-scoped Writ credentials instead.");
                w.WriteEndObject();
                w.WriteStartObject("defaultConfiguration"); w.WriteString("level", Level(severity)); w.WriteEndObject();
                w.WriteStartObject("properties");
                w.WriteStartArray("tags"); w.WriteStringValue("security"); w.WriteStringValue("secret"); w.WriteEndArray();
                w.WriteString("security-severity", SecuritySeverity(severity));
                w.WriteString("precision", "high");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var f in report.Findings)
            {
                w.WriteStartObject();
                w.WriteString("ruleId", f.RuleId);
                if (ruleIndex.TryGetValue(f.RuleId, out var idx)) w.WriteNumber("ruleIndex", idx);
                w.WriteString("level", Level(f.Severity));
                w.WriteStartObject("message");
                var secret = showSecrets ? f.Secret : f.Redacted;
                w.WriteString("text", $"{f.Title} ({Name(f.Severity)}): {secret}" + (f.Commit is null ? "" : $" in commit {f.Commit}")
                    + (f.Notes.Count > 0 ? $". {string.Join("; ", f.Notes)}" : ""));
                w.WriteEndObject();
                w.WriteStartArray("locations");
                w.WriteStartObject();
                w.WriteStartObject("physicalLocation");
                w.WriteStartObject("artifactLocation");
                w.WriteString("uri", Uri.EscapeDataString(f.Path.TrimStart('.', '/')).Replace("%2F", "/"));
                w.WriteString("uriBaseId", "%SRCROOT%");
                w.WriteEndObject();
                w.WriteStartObject("region");
                w.WriteNumber("startLine", Math.Max(1, f.Line));
                w.WriteNumber("startColumn", Math.Max(1, f.Column));
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteStartObject("partialFingerprints");
                w.WriteString("writSecret/v1", Fingerprints.Of(f.BaselineKey));
                w.WriteEndObject();
                w.WriteStartObject("properties");
                w.WriteString("severity", Name(f.Severity));
                w.WriteString("fingerprint", f.Fingerprint);
                if (f.Commit is not null) w.WriteString("commit", f.Commit);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        o.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static string Level(Severity s) => s >= Severity.High ? "error" : s == Severity.Medium ? "warning" : "note";

    /// <summary>GitHub maps security-severity to critical (≥ 9.0), high (7.0–8.9), medium (4.0–6.9), low (0.1–3.9).</summary>
    private static string SecuritySeverity(Severity s) => s switch
    {
        Severity.Critical => "9.5",
        Severity.High => "8.0",
        Severity.Medium => "5.5",
        _ => "2.0",
    };
}
