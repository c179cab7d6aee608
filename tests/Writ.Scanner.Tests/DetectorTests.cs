using System.Text;
using Writ.Scanner.Tests.Corpus;

namespace Writ.Scanner.Tests;

public sealed class DetectorTests
{
    private readonly Fakes _f = new(42);

    private static List<Finding> Scan(string text, string path = "src/app.py") => WorkspaceScanner.ScanText(text, path);

    [Fact]
    public void GitHubToken_WithValidChecksum_IsCriticalAndRedacted()
    {
        var token = _f.Checksummed("gh" + "p_");
        var f = Assert.Single(Scan($"token = \"{token}\""));
        Assert.Equal("github-token", f.RuleId);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.DoesNotContain(token[6..], f.Redacted);
        Assert.StartsWith("ghp_", f.Redacted);
    }

    [Fact]
    public void GitHubToken_WithWrongChecksum_IsLowWithNote()
    {
        var token = _f.Checksummed("gh" + "p_");
        var broken = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        var f = Assert.Single(Scan($"token = \"{broken}\""));
        Assert.Equal(Severity.Low, f.Severity);
        Assert.Contains(f.Notes, n => n.Contains("checksum"));
    }

    [Fact]
    public void StripeTestKey_IsLowEvenInEnvFile()
    {
        var f = Assert.Single(Scan("STRIPE_KEY=sk_" + "test_" + _f.An(24), ".env"));
        Assert.Equal("stripe-test-key", f.RuleId);
        Assert.Equal(Severity.Low, f.Severity);
    }

    [Theory]
    [InlineData("AGENTS.md")]
    [InlineData(".cursor/rules/deploy.mdc")]
    [InlineData(".mcp.json")]
    [InlineData(".env.local")]
    [InlineData(".github/workflows/ci.yml")]
    public void AgentContextFile_RaisesSeverity(string path)
    {
        var line = "SLACK_WEBHOOK=https://hooks.slack.com/services/T" + _f.Of(Fakes.Upper, 8) + "/B" + _f.Of(Fakes.Upper, 10) + "/" + _f.An(24);
        Assert.Equal(Severity.Medium, Assert.Single(Scan(line, "src/notify.sh")).Severity);
        Assert.Equal(Severity.High, Assert.Single(Scan(line, path)).Severity);
    }

    [Fact]
    public void Jwt_Expired_IsLow()
    {
        var f = Assert.Single(Scan($"auth = \"{_f.Jwt(1_000_000_000)}\""));
        Assert.Equal("jwt", f.RuleId);
        Assert.Equal(Severity.Low, f.Severity);
    }

    [Fact]
    public void EncryptedPrivateKey_IsMedium()
    {
        var pem = _f.Pem("ENCRYPTED " + "PRIVATE KEY");
        var f = Assert.Single(Scan(pem, "keys/k.pem"));
        Assert.Equal("private-key", f.RuleId);
        Assert.Equal(Severity.Medium, f.Severity);
    }

    [Fact]
    public void PrivateKey_InJsonString_IsFoundOnceAsServiceAccount()
    {
        var json = "{\n  \"type\": \"service_account\",\n  \"private_key\": \"" + _f.Pem("PRIVATE" + " KEY").Replace("\n", "\\n") + "\\n\"\n}";
        var f = Assert.Single(Scan(json, "sa.json"));
        Assert.Equal("gcp-service-account-key", f.RuleId);
        Assert.Equal(3, f.Line);
    }

    [Fact]
    public void Base64EncodedToken_IsDecodedAndFound()
    {
        var token = "sk" + "_live_" + _f.An(24);
        var f = Assert.Single(Scan($"value: {Convert.ToBase64String(Encoding.UTF8.GetBytes(token))}", "values.yaml"));
        Assert.Equal("stripe-live-key", f.RuleId);
        Assert.Contains(f.Notes, n => n.Contains("base64"));
    }

    [Fact]
    public void UrlEncodedDatabaseUrl_IsDecodedAndFound()
    {
        var url = Uri.EscapeDataString("postgres" + "://svc:" + _f.An(16) + "@db.internal/app");
        var f = Assert.Single(Scan($"REDIRECT=https://app.acme.io/login?next={url}", "config.ini"));
        Assert.Equal("database-url-password", f.RuleId);
    }

    [Fact]
    public void KubernetesSecret_DataValue_IsReported()
    {
        var yaml = $"apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  api-key: {Convert.ToBase64String(Encoding.UTF8.GetBytes(_f.Password()))}\n  ca.crt: {_f.B64(40)}\n";
        var f = Assert.Single(Scan(yaml, "k8s/secret.yaml"));
        Assert.Equal("kubernetes-secret", f.RuleId);
        Assert.Equal(6, f.Line);
    }

    [Fact]
    public void SplitConcatenation_OnOneLine_IsJoined()
    {
        var token = "xo" + "xb-" + _f.Num(12) + "-" + _f.Num(13) + "-" + _f.An(24);
        var f = Assert.Single(Scan($"const t = \"{token[..20]}\" + \"{token[20..]}\";", "a.js"));
        Assert.Equal("slack-token", f.RuleId);
    }

    [Fact]
    public void NotebookJsonEscapedAssignment_IsFound()
    {
        var line = "    \"OPENAI_KEY = \\\"sk-" + "proj-" + _f.UrlSafe(40) + "\\\"\\n\",";
        Assert.Equal("openai-api-key", Assert.Single(Scan(line, "nb.ipynb")).RuleId);
    }

    [Theory]
    [InlineData("DB_PASSWORD=Tundra42!ember17", ".env")]
    [InlineData("    \"clientSecret\": \"q8Z3vN1xR7pL2wK9mT4sB6dF\",", "appsettings.json")]
    [InlineData("api_key = 'Zq83nB2x7LmR4tV9pWc1sK6d'", "app.py")]
    public void Generic_CredentialNameWithRandomValue_IsFound(string line, string path) =>
        Assert.Equal("generic-secret", Assert.Single(Scan(line, path)).RuleId);

    [Fact]
    public void InlineAllow_SuppressesFindingOnThatLineOnly()
    {
        var a = "sk" + "_live_" + _f.An(24);
        var b = "sk" + "_live_" + _f.An(24);
        var findings = Scan($"x = \"{a}\"  # writ:allow\n# writ:allow-next-line\ny = \"{b}\"\nz = \"{b}x\"");
        Assert.DoesNotContain(findings, f => f.Line < 3);
        Assert.Contains(findings, f => f.Line == 4);
    }
}
