using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// Attacks on the MCP endpoint itself: no token, a token for another resource, a replayed proof, a session of another
/// task, a downstream that echoes its injected secret or hangs, and malformed JSON-RPC — each with a clear answer and
/// the session still usable afterwards.
/// </summary>
public sealed class McpAttackTests(McpTestBed bed) : IClassFixture<McpTestBed>
{
    [Fact]
    public async Task Post_WithoutToken_Is401PointingAtProtectedResourceMetadata()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WritFixture.Issuer + "/mcp/files")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""", System.Text.Encoding.UTF8, "application/json"),
        };
        var response = await bed.Writ.Http().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("DPoP ", challenge);
        Assert.Contains("resource_metadata=\"http://localhost/.well-known/oauth-protected-resource/mcp/files\"", challenge);
        var metadata = JsonNode.Parse(await bed.Writ.Http().GetStringAsync("/.well-known/oauth-protected-resource/mcp/files"))!;
        Assert.Equal("http://localhost/mcp/files", (string?)metadata["resource"]);
        Assert.Equal("http://localhost", (string?)metadata["authorization_servers"]![0]);
        Assert.True((bool)metadata["dpop_bound_access_tokens_required"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await bed.Writ.Http().GetAsync("/.well-known/oauth-protected-resource/mcp/nope")).StatusCode);
    }

    [Fact]
    public async Task Post_TokenOfAnotherResource_IsRefused()
    {
        var everything = await bed.ConnectAsync("reader@staging", "everything:read", initialize: false);
        var stolen = new RawMcp(bed.Writ, everything.Agent, everything.TaskId, everything.Credential, "files");

        var response = await stolen.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}""");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("token.wrong_audience", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task Post_ReplayedDpopProof_IsRefused()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        string? proof = null;
        var first = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":9,"method":"ping"}""", r => proof = r.Headers.GetValues("DPoP").Single());

        var replay = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":10,"method":"ping"}""", r =>
        {
            r.Headers.Remove("DPoP");
            r.Headers.Add("DPoP", proof);
        });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Equal("dpop.replayed", JsonNode.Parse(await replay.Content.ReadAsStringAsync())!["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task Post_SessionOfAnotherTask_Is404()
    {
        var owner = await bed.ConnectAsync("reader@staging", "files:read");
        var other = await bed.ConnectAsync("reader@staging", "files:read", initialize: false);
        other.Session = owner.Session;

        var response = await other.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("mcp.unknown_session", RawMcp.ErrorCode((await RawMcp.MessagesAsync(response))[0]));
    }

    [Fact]
    public async Task Post_AfterTaskCompleted_Is401()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        await mcp.Agent.Client.CompleteTaskAsync(mcp.TaskId);

        var response = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    public static TheoryData<string, int, int, string> Malformed => new()
    {
        { "{not json", 400, -32700, "mcp.parse_error" },
        { "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", 400, -32600, "mcp.batch_unsupported" },
        { "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", 400, -32600, "mcp.invalid_request" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":42}", 400, -32600, "mcp.invalid_request" },
        { "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", 400, -32600, "mcp.invalid_request" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":[1]}", 200, -32602, "mcp.invalid_params" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sampling/createMessage\",\"params\":{}}", 200, -32601, "mcp.method_not_allowed" },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"x\"}}", 200, -32601, "mcp.method_not_allowed" },
        { "\"just a string\"", 400, -32600, "mcp.invalid_request" },
        { "", 400, -32700, "mcp.parse_error" },
        // Strings .NET cannot read: a lone surrogate escape as the method, as an argument value, as a key.
        { """{"jsonrpc":"2.0","id":1,"method":"\udc00"}""", 400, -32700, "mcp.parse_error" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"\ud800"}}}""", 400, -32700, "mcp.parse_error" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","arguments":{"\udc00":"x"}}}""", 400, -32700, "mcp.parse_error" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task Post_MalformedJsonRpc_AnswersJsonRpcError_AndSessionSurvives(string body, int status, int rpcCode, string code)
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var response = await mcp.PostRawAsync(body);
        var after = await mcp.RequestAsync("tools/list");

        Assert.Equal(status, (int)response.StatusCode);
        var error = (await RawMcp.MessagesAsync(response))[0];
        Assert.Equal(rpcCode, (int)error["error"]!["code"]!);
        Assert.Equal(code, RawMcp.ErrorCode(error));
        Assert.NotNull(after["result"]?["tools"]);
    }

    public static TheoryData<string, string, string> DuplicateKeys => new()
    {
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","name":"write_file","arguments":{"path":"ROOT/dup.txt","content":"x"}}}""", "name", "$.params" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/hello.txt"},"arguments":{"path":"ROOT/dup.txt","content":"x"}}}""", "arguments", "$.params" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/hello.txt","content":"x","path":"ROOT/dup.txt"}}}""", "path", "$.params.arguments" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/dup.txt","content":"x"}}}""", "method", "$" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","n\u0061me":"write_file","arguments":{"path":"ROOT/dup.txt","content":"x"}}}""", "name", "$.params" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"items":[1,{"deep":{"k":1,"k":2}}]}}}""", "k", "$.params.arguments.items[1].deep" },
        // Differing only in case: one field to Go's encoding/json, which keeps the last.
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_text_file","Name":"write_file","arguments":{"path":"ROOT/dup.txt","content":"x"}}}""", "Name", "$.params" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/hello.txt","content":"x","PATH":"ROOT/dup.txt"}}}""", "PATH", "$.params.arguments" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/hello.txt","items":[{},{"k":1,"K":2}],"content":"x"}}}""", "K", "$.params.arguments.items[1]" },
        // A look-alike that folds to ASCII (the Kelvin sign is a K), and a case duplicate among many keys.
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"path":"ROOT/hello.txt","content":"x","\u212Aey":"z","key":"w"}}}""", "key", "$.params.arguments" },
        { """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"path":"ROOT/dup.txt","content":"x","B3":3}}}""", "B3", "$.params.arguments" },
    };

    [Theory]
    [MemberData(nameof(DuplicateKeys))]
    public async Task Post_DuplicateKeysAtAnyDepth_AreRefusedAndAudited_AndSessionSurvives(string body, string key, string where)
    {
        var mcp = await bed.ConnectAsync("writer@staging", "files:read");

        var response = await mcp.PostRawAsync(body.Replace("ROOT", bed.Root, StringComparison.Ordinal));
        var after = await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await RawMcp.MessagesAsync(response))[0];
        Assert.Equal(-32600, (int)error["error"]!["code"]!);
        Assert.Equal("mcp.duplicate_key", RawMcp.ErrorCode(error));
        Assert.Equal($"the key '{key}' appears more than once in {where}: messages with repeated keys are refused at any depth, so that Writ and the MCP server read the same call",
            (string?)error["error"]!["message"]);
        Assert.False(File.Exists(Path.Combine(bed.Root, "dup.txt")));
        Assert.Equal("hello from the allowed root", RawMcp.Text(after));
        Assert.Contains(await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId), a => a.Action == "mcp.call" && a.ActorKind == "ai-agent" && a.Decision == "deny" && a.Reason == "mcp.duplicate_key");
    }

    [Fact]
    public async Task Post_WrongContentType_IsJsonRpcError()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var response = await mcp.PostRawAsync("{}", r => r.Content!.Headers.ContentType = new("text/plain"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("mcp.unsupported_media_type", RawMcp.ErrorCode((await RawMcp.MessagesAsync(response))[0]));
    }

    [Fact]
    public async Task Post_LargeMessageWithoutContentLength_IsReadWhole()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "evil:read");
        // About 30 KB, sent without Content-Length: read past the first buffer, which then grows.
        var text = string.Concat(Enumerable.Range(0, 1000).Select(i => $"line {i} of a long message. "));
        var body = new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 7, ["method"] = "tools/call",
            ["params"] = new JsonObject { ["name"] = "echo", ["arguments"] = new JsonObject { ["text"] = text } },
        }.ToJsonString();

        var response = await mcp.PostRawAsync(body, r => r.Content = new UnsizedJson(body));
        var small = await mcp.CallToolAsync("echo", new JsonObject { ["text"] = "short" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(text, RawMcp.Text((await RawMcp.MessagesAsync(response))[0]));
        Assert.Equal("short", RawMcp.Text(small));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Post_MessageOverTheLimit_IsTooLarge_AndSessionSurvives(bool withContentLength)
    {
        var mcp = await bed.ConnectAsync("reader@staging", "evil:read");
        var envelope = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":""}}}""";
        var body = envelope.Replace("\"text\":\"\"", $"\"text\":\"{new string('a', 1024 * 1024 + 1 - envelope.Length)}\"", StringComparison.Ordinal);
        Assert.Equal(1024 * 1024 + 1, body.Length);

        var response = await mcp.PostRawAsync(body, withContentLength ? null : r => r.Content = new UnsizedJson(body));
        var after = await mcp.CallToolAsync("echo", new JsonObject { ["text"] = "still here" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("mcp.too_large", RawMcp.ErrorCode((await RawMcp.MessagesAsync(response))[0]));
        Assert.Equal("still here", RawMcp.Text(after));
    }

    /// <summary>JSON whose length is not known up front: sent chunked, without Content-Length.</summary>
    private sealed class UnsizedJson : HttpContent
    {
        private readonly byte[] _bytes;

        public UnsizedJson(string json)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task ToolCall_DownstreamEchoesInjectedSecret_IsRedacted()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "evil:read");

        var answer = await mcp.CallToolAsync("leak_secret");

        var text = RawMcp.Text(answer);
        Assert.Contains("my key is [redacted]", text);
        Assert.DoesNotContain(McpTestBed.EvilSecret, answer.ToJsonString());
        Assert.DoesNotContain(bed.Writ.Logs.Lines, l => l.Contains(McpTestBed.EvilSecret));
        var audit = await bed.Writ.Admin().SearchAuditAsync(limit: 1000);
        Assert.DoesNotContain(audit, a => JsonSerializer.Serialize(a).Contains(McpTestBed.EvilSecret));
        Assert.DoesNotContain(McpTestBed.EvilSecret, await bed.Writ.DumpDatabaseAsync());
    }

    [Fact]
    public async Task ToolCall_DownstreamAnswersAStringThatIsNotUnicode_IsAnErrorNotA500_AndServerStillAnswers()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "evil:read");

        var response = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"lone_surrogate","arguments":{}}}""");
        var echo = await mcp.CallToolAsync("echo", new JsonObject { ["text"] = "still alive" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var error = (await RawMcp.MessagesAsync(response))[0];
        Assert.Equal(-32002, (int)error["error"]!["code"]!);
        Assert.Equal("mcp.downstream_invalid", RawMcp.ErrorCode(error));
        Assert.Equal("still alive", RawMcp.Text(echo));
        Assert.Contains(await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId), a => a.Action == "mcp.result" && a.Reason == "mcp.result_error" && a.Details!.Contains("lone_surrogate"));
    }

    [Fact]
    public async Task ToolCall_DownstreamHangs_TimesOutAuditedAndServerStillAnswers()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "evil:read");

        var hung = await mcp.CallToolAsync("hang");
        var echo = await mcp.CallToolAsync("echo", new JsonObject { ["text"] = "still alive" });

        Assert.Equal(-32001, (int)hung["error"]!["code"]!);
        Assert.Equal("mcp.downstream_timeout", RawMcp.ErrorCode(hung));
        Assert.Equal("still alive", RawMcp.Text(echo));
        var audit = await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId);
        Assert.Contains(audit, a => a.Action == "mcp.call" && a.Decision == "allow" && a.Reason is null && a.Details!.Contains("\"hang\""));
        Assert.Contains(audit, a => a.Action == "mcp.result" && a.Decision == "info" && a.Reason == "mcp.downstream_timeout" && a.Details!.Contains("\"hang\""));
    }

    [Fact]
    public async Task HttpDownstream_GetsInjectedHeaders_NeverTheAgentsToken()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "remote:read");

        var answer = await mcp.CallToolAsync("show_headers");
        var echo = await mcp.CallToolAsync("echo", new JsonObject { ["text"] = "over http" });

        var headers = JsonNode.Parse(RawMcp.Text(answer))!.AsObject();
        Assert.Equal("[redacted]", (string?)headers["authorization"]); // "Bearer <secret>" arrived, and is itself a scrubbed form
        Assert.Equal("[redacted]", (string?)headers["x-api-key"]);
        Assert.Null(headers["dpop"]);
        Assert.DoesNotContain(mcp.Credential.AccessToken, answer.ToJsonString());
        Assert.DoesNotContain(McpTestBed.EvilSecret, answer.ToJsonString());
        Assert.Equal("over http", RawMcp.Text(echo));
    }

    [Theory]
    [InlineData("broken", "could not be started")]
    [InlineData("unsealed", "the secret never-stored that unsealed needs is not stored")]
    public async Task Initialize_DownstreamCannotStart_IsJsonRpcErrorAndAudited(string resource, string message)
    {
        var mcp = await bed.ConnectAsync("reader@staging", resource + ":read", initialize: false);

        var response = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""");

        var error = (await RawMcp.MessagesAsync(response))[0];
        Assert.Equal(-32002, (int)error["error"]!["code"]!);
        Assert.Equal("mcp.downstream_unavailable", RawMcp.ErrorCode(error));
        Assert.Contains(message, (string?)error["error"]!["message"]);
        Assert.Contains(await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId), a => a.Decision == "deny" && a.Reason == "mcp.downstream_unavailable");
    }

    [Fact]
    public async Task Post_FromForeignBrowserOrigin_IsRefused()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var response = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", r => r.Headers.Add("Origin", "https://evil.example"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Delete_WithoutTheTokensKey_IsRefusedAndAudited_AndTheSessionLives()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        using var delete = new HttpRequestMessage(HttpMethod.Delete, mcp.Url);
        delete.Headers.Add("Mcp-Session-Id", mcp.Session);
        delete.Headers.Authorization = new("DPoP", mcp.Credential.AccessToken); // the token without a proof of its key

        var refused = await bed.Writ.Http().SendAsync(delete);
        var after = await mcp.RequestAsync("tools/list");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.NotNull(after["result"]?["tools"]);
        Assert.Contains(await bed.Writ.Admin().SearchAuditAsync(limit: 1000), a => a.Action == "mcp.session_close" && a.Decision == "deny");
    }

    [Fact]
    public async Task Delete_EndsSession()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        using var delete = new HttpRequestMessage(HttpMethod.Delete, mcp.Url);
        delete.Headers.Add("Mcp-Session-Id", mcp.Session);
        mcp.Agent.Client.Authorize(delete, mcp.Credential);

        var deleted = await bed.Writ.Http().SendAsync(delete);
        var after = await mcp.PostRawAsync("""{"jsonrpc":"2.0","id":1,"method":"ping"}""");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }
}
