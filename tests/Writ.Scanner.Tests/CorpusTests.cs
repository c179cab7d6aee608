using Writ.Scanner.Tests.Corpus;
using Xunit.Abstractions;

namespace Writ.Scanner.Tests;

/// <summary>The quality gate: recall and precision on a generated, labelled workspace (docs/scanner.md).</summary>
public sealed class CorpusTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("writ-corpus-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Scorer ScoreSeed(int seed)
    {
        var gen = new CorpusGenerator(seed);
        gen.Generate();
        var root = Path.Combine(_dir, "s" + seed, "tree");
        Directory.CreateDirectory(root);
        gen.Write(root);
        var report = new WorkspaceScanner(new ScanOptions()).Scan([root]);
        var prefix = root.Replace('\\', '/') + "/";
        var findings = report.Findings.Select(f => f with { Path = f.Path.StartsWith(prefix, StringComparison.Ordinal) ? f.Path[prefix.Length..] : f.Path }).ToList();
        return new Scorer { Truths = gen.Truths, Decoys = gen.Decoys, Findings = findings }.Run();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Corpus_RecallAndPrecision_AtLeast95Percent(int seed)
    {
        var score = ScoreSeed(seed);
        var md = score.Markdown();
        output.WriteLine(md);
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, $"corpus-report-{seed}.md"), md);
        Assert.True(score.Recall >= 0.95, $"recall {score.Recall:P1}\n{md}");
        Assert.True(score.Precision >= 0.95, $"precision {score.Precision:P1}\n{md}");
    }

    [Fact]
    public void Corpus_EveryDetectorWithAFormat_IsPlanted()
    {
        var planted = Kinds.All.Select(k => k.Rule).ToHashSet();
        var missing = WorkspaceScanner.Rules.Select(r => r.Id).Where(id => !planted.Contains(id)).ToList();
        Assert.Empty(missing);
        Assert.True(WorkspaceScanner.Rules.Count >= 60);
    }
}
