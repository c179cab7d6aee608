using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Writ.Client.Http;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// <c>@modelcontextprotocol/server-everything</c> behind Writ for an allowed role: tools, resources, prompts, progress
/// notifications and large results pass through; and a real MCP client (the C# SDK) works through the gateway.
/// </summary>
public sealed class McpEverythingTests(McpTestBed bed) : IClassFixture<McpTestBed>
{
    [Fact]
    public async Task Tools_ListedAndCalled_PassThrough()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");

        var list = await mcp.RequestAsync("tools/list");
        var sum = await mcp.CallToolAsync("get-sum", new JsonObject { ["a"] = 2, ["b"] = 40 });
        var image = await mcp.CallToolAsync("get-tiny-image");
        var annotated = await mcp.CallToolAsync("get-annotated-message", new JsonObject { ["messageType"] = "success" });

        var names = ((JsonArray)list["result"]!["tools"]!).Select(t => (string)t!["name"]!).ToHashSet();
        Assert.Equal(["echo", "get-annotated-message", "get-sum", "get-tiny-image", "trigger-long-running-operation"], names.Order());
        Assert.Contains("42", RawMcp.Text(sum));
        Assert.Contains(((JsonArray)image["result"]!["content"]!), c => (string?)c!["type"] == "image");
        Assert.False(RawMcp.IsToolError(annotated));
    }

    [Fact]
    public async Task UnlistedTool_EnvOfTheProcess_IsRefused()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");

        var env = await mcp.CallToolAsync("get-env");

        Assert.True(RawMcp.IsToolError(env));
        Assert.Contains("mcp.unknown_name", RawMcp.Text(env));
    }

    [Fact]
    public async Task Echo_LargeResult_PassesThroughWhole()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");
        var big = string.Concat(Enumerable.Repeat("0123456789abcdef", 64 * 1024 / 16 * 3)); // 192 KiB

        var answer = await mcp.CallToolAsync("echo", new JsonObject { ["message"] = big });

        Assert.Equal("Echo: " + big, RawMcp.Text(answer));
        var call = Assert.Single(await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId, action: "mcp.result"), a => a.Details!.Contains("echo"));
        var bytes = (long)JsonNode.Parse(call.Details!)!["result_bytes"]!;
        Assert.True(bytes > big.Length, $"result_bytes {bytes}");
        Assert.True(call.Details!.Length < 5000, "audited arguments are bounded");
    }

    [Fact]
    public async Task Progress_StreamedOverSse_ThenResult()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");
        var body = new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 77, ["method"] = "tools/call",
            ["params"] = new JsonObject
            {
                ["name"] = "trigger-long-running-operation",
                ["arguments"] = new JsonObject { ["duration"] = 1, ["steps"] = 3 },
                ["_meta"] = new JsonObject { ["progressToken"] = "agent-token-1" },
            },
        };

        var response = await mcp.PostRawAsync(body.ToJsonString(), sse: true);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var messages = await RawMcp.MessagesAsync(response);
        var progress = messages.Where(m => (string?)m["method"] == "notifications/progress").ToList();
        Assert.Equal(3, progress.Count);
        Assert.All(progress, p => Assert.Equal("agent-token-1", (string?)p["params"]!["progressToken"]));
        Assert.Equal(77, (int)messages[^1]["id"]!);
        Assert.Contains("completed", RawMcp.Text(messages[^1]), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ArgumentMaxBytes_Exceeded_IsRefused()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");

        var answer = await mcp.CallToolAsync("trigger-long-running-operation", new JsonObject { ["duration"] = 100, ["steps"] = 1 });

        Assert.True(RawMcp.IsToolError(answer));
        Assert.Contains("longer than the 2 bytes", RawMcp.Text(answer));
    }

    [Fact]
    public async Task Resources_ListedAndRead_PromptsListedAndGot()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "everything:read");

        var templates = await mcp.RequestAsync("resources/templates/list");
        var read = await mcp.RequestAsync("resources/read", new JsonObject { ["uri"] = "demo://resource/dynamic/text/1" });
        var refused = await mcp.RequestAsync("resources/read", new JsonObject { ["uri"] = "file:///etc/passwd" });
        var prompts = await mcp.RequestAsync("prompts/list");
        var prompt = await mcp.RequestAsync("prompts/get", new JsonObject { ["name"] = "simple-prompt" });

        Assert.NotEmpty((JsonArray)templates["result"]!["resourceTemplates"]!);
        Assert.Contains("demo://resource/dynamic/text/1", read["result"]!["contents"]![0]!["uri"]!.GetValue<string>());
        Assert.Equal(-32003, (int)refused["error"]!["code"]!);
        Assert.Equal("mcp.unknown_name", RawMcp.ErrorCode(refused));
        Assert.Contains(((JsonArray)prompts["result"]!["prompts"]!), p => (string?)p!["name"] == "simple-prompt");
        Assert.NotEmpty((JsonArray)prompt["result"]!["messages"]!);
    }

    [Fact]
    public async Task CSharpSdkClient_OverStreamableHttp_ListsAndCalls()
    {
        var agent = await bed.Writ.EnrollAsync("reader@staging");
        var task = await agent.Client.StartTaskAsync("sdk client");
        var handler = new DpopCredentialHandler(agent.Client, ct => agent.Client.GetCredentialAsync("everything:read", task.Id, ct: ct), bed.Writ.Server.CreateHandler());
        using var http = new HttpClient(handler);
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(WritFixture.Issuer + "/mcp/everything"),
            TransportMode = HttpTransportMode.StreamableHttp,
        }, http);

        await using var client = await McpClient.CreateAsync(transport);
        var tools = await client.ListToolsAsync();
        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "via the C# SDK" });
        var denied = await client.CallToolAsync("get-env");

        Assert.Contains(tools, t => t.Name == "echo");
        Assert.DoesNotContain(tools, t => t.Name == "get-env");
        Assert.Equal("Echo: via the C# SDK", Assert.IsType<TextContentBlock>(echo.Content[0]).Text);
        Assert.True(denied.IsError);
    }
}
