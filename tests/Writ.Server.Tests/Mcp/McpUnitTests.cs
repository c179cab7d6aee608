using System.Text.Json.Nodes;
using Writ.Server.Mcp;

namespace Writ.Server.Tests.Mcp;

/// <summary>The pure parts of the MCP gateway: path normalisation, audit redaction of arguments, result scrubbing.</summary>
public sealed class McpUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("writ-mcp-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Normalise_DotSegmentsAndChainedSymlinks_GiveTheRealPath()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "real", "deep"));
        File.CreateSymbolicLink(Path.Combine(_dir, "a"), Path.Combine(_dir, "b"));
        File.CreateSymbolicLink(Path.Combine(_dir, "b"), "real/deep"); // relative target

        Assert.Equal(Path.Combine(_dir, "real", "deep", "new.txt"), McpPaths.Normalise(_dir + "/x/../a/./new.txt", out _));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("rel/x", "absolute")]
    [InlineData("~/x", "absolute")]
    [InlineData("/a\0b", "NUL")]
    public void Normalise_BadInput_IsRefusedWithReason(string path, string reason)
    {
        Assert.Null(McpPaths.Normalise(path, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Normalise_SymlinkLoop_IsRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, "loop1"), Path.Combine(_dir, "loop2"));
        File.CreateSymbolicLink(Path.Combine(_dir, "loop2"), Path.Combine(_dir, "loop1"));

        Assert.Null(McpPaths.Normalise(Path.Combine(_dir, "loop1", "x"), out var error));
        Assert.Contains("symbolic links", error);
    }

    [Fact]
    public void ForAudit_SecretNamesAndCredentialShapes_AreRedacted_LongValuesCut()
    {
        var args = new JsonObject
        {
            ["path"] = "/srv/data/report.txt",
            ["api_key"] = "plain",
            ["headers"] = new JsonObject { ["Authorization"] = "Bearer x" },
            ["note"] = "use sk_live_4eC39HqLyjWDarjtT1zdp7dc please",
            ["jwt"] = "x",
            ["blob"] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.sig",
            ["planted"] = "contains the downstream secret s3cr3t-value",
            ["long"] = string.Join(" ", Enumerable.Repeat("word", 80)),
            ["n"] = 42,
        };

        var audit = JsonNode.Parse(McpRedaction.ForAudit(args, ["s3cr3t-value"]))!;

        Assert.Equal("/srv/data/report.txt", (string?)audit["path"]);
        Assert.Equal("[redacted]", (string?)audit["api_key"]);
        Assert.Equal("[redacted]", (string?)audit["headers"]!["Authorization"]);
        Assert.Equal("[redacted]", (string?)audit["note"]);
        Assert.Equal("[redacted]", (string?)audit["jwt"]);
        Assert.Equal("[redacted]", (string?)audit["blob"]);
        Assert.Equal("[redacted]", (string?)audit["planted"]);
        Assert.Equal(257, ((string)audit["long"]!).Length);
        Assert.Equal(42, (int)audit["n"]!);
    }

    [Fact]
    public void Scrub_EveryFormOfTheSecret_IsReplaced()
    {
        var forms = McpDownstreamPool.ScrubForms(["p@ss\"/+word"]);
        var json = new JsonObject { ["a"] = "raw p@ss\"/+word", ["b"] = Uri.EscapeDataString("p@ss\"/+word") }.ToJsonString();

        var scrubbed = McpRedaction.Scrub(json, forms);

        Assert.DoesNotContain("ss", scrubbed.Replace("[redacted]", ""));
        Assert.Equal(2, scrubbed.Split("[redacted]").Length - 1);
    }
}
