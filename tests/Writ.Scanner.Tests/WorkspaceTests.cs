using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Writ.Scanner.Reporting;
using Writ.Scanner.History;
using Writ.Scanner.Tests.Corpus;

namespace Writ.Scanner.Tests;

/// <summary>The walker, streaming, ignore files, baselines, report formats and git history, on real temp directories.</summary>
public sealed class WorkspaceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("writ-ws-").FullName;
    private readonly Fakes _f = new(9);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string rel, string content)
    {
        var full = Path.Combine(_root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    private string Stripe() => "sk" + "_live_" + _f.An(24);

    private ScanReport Scan(ScanOptions? o = null) => new WorkspaceScanner(o ?? new ScanOptions()).Scan([_root]);

    private string Rel(Finding f) => f.Path[(_root.Length + 1)..];

    [Fact]
    public void Walker_ScansGitignoredEnv_SkipsGitAndVendored()
    {
        Write(".gitignore", ".env\n");
        Write(".env", $"STRIPE={Stripe()}\n");
        Write(".git/config", $"STRIPE={Stripe()}\n");
        Write("node_modules/pkg/index.js", $"k = \"{Stripe()}\"\n");
        var report = Scan();
        Assert.Equal([".env"], report.Findings.Select(Rel));
        Assert.Equal(2, Scan(new ScanOptions { IncludeVendored = true }).Findings.Count);
    }

    [Fact]
    public void Walker_NeverFollowsSymlinkOutOfRoot()
    {
        var outside = Directory.CreateTempSubdirectory("writ-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secrets.env"), $"STRIPE={Stripe()}\n");
            File.CreateSymbolicLink(Path.Combine(_root, "linked.env"), Path.Combine(outside, "secrets.env"));
            Directory.CreateSymbolicLink(Path.Combine(_root, "linkeddir"), outside);
            Write("inside.txt", $"STRIPE={Stripe()}\n");
            File.CreateSymbolicLink(Path.Combine(_root, "alias.txt"), Path.Combine(_root, "inside.txt"));
            var paths = Scan().Findings.Select(Rel).Order().ToList();
            Assert.Equal(["alias.txt", "inside.txt"], paths);
        }
        finally { Directory.Delete(outside, recursive: true); }
    }

    [Fact]
    public void Walker_SkipsBinaryAndOversizedFiles_AndCountsThem()
    {
        var bin = Encoding.UTF8.GetBytes($"x\0y STRIPE={Stripe()}");
        File.WriteAllBytes(Path.Combine(_root, "blob.dat"), bin);
        Write("big.txt", new string('a', 5000) + $"\nSTRIPE={Stripe()}\n");
        var report = Scan(new ScanOptions { MaxFileSize = 4096 });
        Assert.Empty(report.Findings);
        Assert.Equal(1, report.SkippedBinary);
        Assert.Equal(1, report.SkippedTooLarge);
        Assert.Single(Scan(new ScanOptions { MaxFileSize = 0 }).Findings);
    }

    [Fact]
    public void Streaming_LargeFile_FindsSecretsAcrossChunkBoundariesWithRightLines()
    {
        var sb = new StringBuilder();
        var line = 0;
        var expected = new List<int>();
        while (sb.Length < 3 * WorkspaceScanner.ChunkBytes)
        {
            line++;
            if (line % 9000 == 0) { sb.Append($"STRIPE={Stripe()}\n"); expected.Add(line); }
            else if (line == 25_000) { var pem = _f.Pem("RSA " + "PRIVATE KEY", 4000); sb.Append(pem).Append('\n'); expected.Add(line); line += pem.Count(c => c == '\n'); }
            else sb.Append($"filler line {line} with some words about tokens and config values\n");
        }
        Write("huge.log", sb.ToString());
        var found = Scan().Findings.Select(f => f.Line).Order().ToList();
        Assert.Equal(expected, found);
    }

    [Fact]
    public void WritIgnore_PathsAndAcceptedFingerprints()
    {
        var accepted = Stripe();
        Write("fixtures/keys.txt", $"k={Stripe()}\n");
        Write("src/a.env", $"A={accepted}\nB={Stripe()}\n");
        Write(".writignore", $"# test fixtures\nfixtures/\nfingerprint:{Fingerprints.Of(accepted)}\n");
        var report = Scan();
        var f = Assert.Single(report.Findings);
        Assert.Equal(2, f.Line);
        Assert.Equal(1, report.AllowedInline);
    }

    [Fact]
    public void Baseline_ReportsOnlyNewFindings()
    {
        Write(".env", $"A={Stripe()}\n");
        var first = Scan();
        var json = new StringWriter();
        ReportWriter.WriteJson(first, json, showSecrets: false);
        var baselineFile = Path.Combine(_root, "..", Path.GetFileName(_root) + "-baseline.json");
        File.WriteAllText(baselineFile, json.ToString());
        try
        {
            File.AppendAllText(Path.Combine(_root, ".env"), $"B={Stripe()}\n");
            var baseline = Baseline.Load(baselineFile);
            var fresh = Scan().Findings.Where(f => !baseline.Contains(f)).ToList();
            Assert.Equal(2, Assert.Single(fresh).Line);
        }
        finally { File.Delete(baselineFile); }
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("{\"findings\":{}}")]
    [InlineData("not json")]
    public void Baseline_NotAWritReport_IsInvalidData(string text)
    {
        var file = Path.Combine(_root, "baseline.json");
        File.WriteAllText(file, text);
        Assert.Throws<InvalidDataException>(() => Baseline.Load(file));
    }

    [Fact]
    public void Baseline_FindingsOfAnotherShape_MatchNothing_AndDoNotThrow()
    {
        var file = Path.Combine(_root, "baseline.json");
        File.WriteAllText(file, "{\"findings\":[1,\"x\",null,{\"rule\":5,\"path\":\"a\",\"fingerprint\":\"b\"},{\"rule\":\"\\udc00\",\"path\":\"a\",\"fingerprint\":\"b\"}]}");
        Assert.Equal(0, Baseline.Load(file).Count);
    }

    [Fact]
    public void Reports_NeverContainTheSecret_UnlessAsked()
    {
        var secret = Stripe();
        Write("app.py", $"k = \"{secret}\"\n");
        var report = Scan();
        foreach (var format in Enum.GetValues<ReportFormat>())
        {
            var w = new StringWriter();
            ReportWriter.Write(report, format, w, showSecrets: false);
            Assert.DoesNotContain(secret[8..], w.ToString());
            var shown = new StringWriter();
            ReportWriter.Write(report, format, shown, showSecrets: true);
            Assert.Contains(secret, shown.ToString());
        }
    }

    [Fact]
    public void Sarif_HasTheShapeGitHubCodeScanningRequires()
    {
        Write("app.py", $"k = \"{Stripe()}\"\n");
        var w = new StringWriter();
        ReportWriter.WriteSarif(Scan(), w, showSecrets: false);
        using var doc = JsonDocument.Parse(w.ToString());
        var root = doc.RootElement;
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        var run = root.GetProperty("runs")[0];
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules");
        Assert.True(rules.GetArrayLength() >= 60);
        foreach (var rule in rules.EnumerateArray())
            Assert.True(double.TryParse(rule.GetProperty("properties").GetProperty("security-severity").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
        var result = Assert.Single(run.GetProperty("results").EnumerateArray());
        Assert.Equal("stripe-live-key", result.GetProperty("ruleId").GetString());
        var loc = result.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.False(loc.GetProperty("artifactLocation").GetProperty("uri").GetString()!.StartsWith('/'));
        Assert.Equal(1, loc.GetProperty("region").GetProperty("startLine").GetInt32());
        Assert.True(result.GetProperty("partialFingerprints").EnumerateObject().Any());
    }

    [Fact]
    public void GitHistory_FindsSecretRemovedFromHead_WithItsCommit()
    {
        void Git(string args)
        {
            var p = Process.Start(new ProcessStartInfo("git", $"-C \"{_root}\" -c user.name=t -c user.email=t@t {args}") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
        }
        Git("init -q");
        Write("config.env", $"STRIPE={Stripe()}\n");
        Git("add -A");
        Git("commit -q -m add");
        var p = Process.Start(new ProcessStartInfo("git", $"-C \"{_root}\" rev-parse HEAD") { RedirectStandardOutput = true })!;
        var commit = p.StandardOutput.ReadToEnd().Trim();
        Write("config.env", "STRIPE=${STRIPE}\n");
        Git("commit -q -am remove");

        Assert.Empty(Scan().Findings);
        var f = Assert.Single(new GitHistoryScanner(new ScanOptions()).Scan(_root).Findings);
        Assert.Equal(commit, f.Commit);
        Assert.Equal("config.env", f.Path);
    }
}
