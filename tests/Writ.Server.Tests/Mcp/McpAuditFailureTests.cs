using System.Net;
using System.Text.Json.Nodes;

namespace Writ.Server.Tests.Mcp;

/// <summary>Invariant 7 for MCP: when the audit log cannot be written, no answer leaves and nothing that writes is forwarded.</summary>
public sealed class McpAuditFailureTests(McpTestBed bed) : IClassFixture<McpTestBed>
{
    [Fact]
    public async Task ToolCalls_WhenAuditCannotBeWritten_FailClosed()
    {
        var reader = await bed.ConnectAsync("reader@staging", "files:read");
        var author = await bed.ConnectAsync("author@staging", "files:write");
        var target = Path.Combine(bed.Root, "unaudited.txt");
        await bed.Writ.BlockAuditAsync();

        var read = await reader.PostRawAsync(new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "tools/call",
            ["params"] = new JsonObject { ["name"] = "read_text_file", ["arguments"] = new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") } },
        }.ToJsonString());
        var write = await author.PostRawAsync(new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 2, ["method"] = "tools/call",
            ["params"] = new JsonObject { ["name"] = "write_file", ["arguments"] = new JsonObject { ["path"] = target, ["content"] = "x" } },
        }.ToJsonString());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, read.StatusCode);
        Assert.Contains("audit.unavailable", await read.Content.ReadAsStringAsync());
        Assert.DoesNotContain("hello from the allowed root", await read.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, write.StatusCode);
        Assert.False(File.Exists(target));
    }
}
