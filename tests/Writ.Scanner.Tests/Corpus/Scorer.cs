using System.Text;

namespace Writ.Scanner.Tests.Corpus;

/// <summary>Recall and precision of a scan against the corpus ground truth, per rule and per difficulty.</summary>
public sealed class Scorer
{
    public required IReadOnlyList<Truth> Truths { get; init; }
    public required IReadOnlyList<Decoy> Decoys { get; init; }
    public required IReadOnlyList<Finding> Findings { get; init; }

    public List<Truth> Missed { get; } = [];
    public List<(Finding Finding, string Why)> FalsePositives { get; } = [];
    public int TruePositives { get; private set; }

    /// <summary>Recall over easy, medium and hard plantings (the gate); adversarial ones are reported apart.</summary>
    public double Recall
    {
        get
        {
            var gated = Truths.Count(t => t.Difficulty != Difficulty.Adversarial);
            return gated == 0 ? 1 : (double)(gated - Missed.Count(m => m.Difficulty != Difficulty.Adversarial)) / gated;
        }
    }
    public double Precision => TruePositives + FalsePositives.Count == 0 ? 1 : (double)TruePositives / (TruePositives + FalsePositives.Count);

    public Scorer Run()
    {
        var truthByKey = Truths.GroupBy(t => (t.Path, t.Line, t.Rule)).ToDictionary(g => g.Key, g => g.First());
        var found = new HashSet<(string, int, string)>();
        var decoyAt = Decoys.GroupBy(d => (d.Path, d.Line)).ToDictionary(g => g.Key, g => g.First().Category);
        foreach (var f in Findings)
        {
            var key = (f.Path, f.Line, f.RuleId);
            if (truthByKey.ContainsKey(key)) { if (found.Add(key)) TruePositives++; continue; }
            if (Truths.Any(t => t.Path == f.Path && t.Line == f.Line && t.Difficulty == Difficulty.Adversarial)) continue;   // a different rule on an adversarial line is not a false alarm
            var why = decoyAt.TryGetValue((f.Path, f.Line), out var cat) ? "decoy: " + cat
                : Truths.Any(t => t.Path == f.Path && t.Line == f.Line) ? "planted secret reported under another rule" : "unplanted text";
            FalsePositives.Add((f, why));
        }
        Missed.AddRange(Truths.Where(t => !found.Contains((t.Path, t.Line, t.Rule))));
        return this;
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Planted secrets: {Truths.Count}; decoys: {Decoys.Count}; findings: {Findings.Count}.");
        sb.AppendLine();
        sb.AppendLine($"**Recall {Recall:P1} (easy + medium + hard), precision {Precision:P1}** ({TruePositives} true positives, {FalsePositives.Count} false positives, {Missed.Count(m => m.Difficulty != Difficulty.Adversarial)} missed; adversarial forms reported below).");
        sb.AppendLine();
        sb.AppendLine("| difficulty | planted | found | recall |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var g in Truths.GroupBy(t => t.Difficulty).OrderBy(g => g.Key))
        {
            var miss = Missed.Count(m => m.Difficulty == g.Key);
            sb.AppendLine($"| {g.Key.ToString().ToLowerInvariant()} | {g.Count()} | {g.Count() - miss} | {(double)(g.Count() - miss) / g.Count():P1} |");
        }
        sb.AppendLine();
        sb.AppendLine("| adversarial form | planted | found |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var g in Truths.Where(t => t.Difficulty == Difficulty.Adversarial).GroupBy(t => t.How))
            sb.AppendLine($"| {g.Key} | {g.Count()} | {g.Count() - Missed.Count(m => m.Difficulty == Difficulty.Adversarial && m.How == g.Key)} |");
        sb.AppendLine();
        sb.AppendLine("| rule | planted | found | recall | false positives | precision |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var g in Truths.Where(t => t.Difficulty != Difficulty.Adversarial).GroupBy(t => t.Rule).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var miss = Missed.Count(m => m.Rule == g.Key && m.Difficulty != Difficulty.Adversarial);
            var fp = FalsePositives.Count(f => f.Finding.RuleId == g.Key);
            var tp = g.Count() - miss;
            sb.AppendLine($"| `{g.Key}` | {g.Count()} | {tp} | {(double)tp / g.Count():P0} | {fp} | {(tp + fp == 0 ? 1 : (double)tp / (tp + fp)):P0} |");
        }
        if (Missed.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Missed:");
            foreach (var m in Missed.Where(m => m.Difficulty != Difficulty.Adversarial)) sb.AppendLine($"- `{m.Rule}` ({m.Difficulty.ToString().ToLowerInvariant()}, {m.How}) at {m.Path}:{m.Line}");
        }
        if (FalsePositives.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("False positives:");
            foreach (var (f, why) in FalsePositives) sb.AppendLine($"- `{f.RuleId}` at {f.Path}:{f.Line} ({why})");
        }
        return sb.ToString();
    }
}
