using System.Text;

namespace Writ.Scanner.Tests;

/// <summary>
/// Inputs built to make backtracking regexes explode. Patterns only run on a bounded window around a
/// keyword and every quantifier is bounded, so each of these finishes; if one regressed into
/// catastrophic backtracking the test would hang rather than fail, which CI notices.
/// </summary>
public sealed class PathologicalTests
{
    [Theory]
    [InlineData("ghp_", 200_000)]
    [InlineData("postgres://a:", 50_000)]
    [InlineData("password=", 50_000)]
    [InlineData("eyJ", 100_000)]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\n", 20_000)]
    [InlineData("AccountKey=", 50_000)]
    [InlineData("\"auth\": \"", 50_000)]
    [InlineData("token = \"", 50_000)]
    public void RepeatedKeyword_NoCatastrophicBacktracking(string unit, int times)
    {
        var text = new StringBuilder().Insert(0, unit, times).ToString();
        var findings = WorkspaceScanner.ScanText(text, "big.txt");
        Assert.All(findings, f => Assert.NotEmpty(f.RuleId));
    }

    [Fact]
    public void OneMegabyteLineOfBase64_NoCatastrophicBacktracking()
    {
        var rnd = new Random(7);
        var bytes = new byte[768 * 1024];
        rnd.NextBytes(bytes);
        var text = "blob: " + Convert.ToBase64String(bytes).Replace("A", "Z2hwX") + "\n";
        _ = WorkspaceScanner.ScanText(text, "blob.yaml");
    }

    [Fact]
    public void LongAlmostJwt_NoCatastrophicBacktracking()
    {
        var text = "eyJ" + new string('a', 50_000) + ".eyJ" + new string('b', 50_000) + "." + new string('-', 50_000) + "!";
        _ = WorkspaceScanner.ScanText(text, "x.txt");
    }
}
