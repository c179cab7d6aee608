using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Writ.Client.Http;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// One Writ server (TestHost) with three MCP resources behind it — server-filesystem over a temp tree, server-everything,
/// and a misbehaving server — shared by a test class, since each downstream is a real node process.
/// The filesystem server itself is allowed the whole temp tree, so only Writ's path policy keeps the agent in <c>root</c>.
/// </summary>
public sealed class McpTestBed : IAsyncLifetime
{
    public const string EvilSecret = "evil_PLANTED_key_7c1d9e0b55";

    public string Base { get; } = Path.Combine(Path.GetTempPath(), "writ-mcp-" + Guid.NewGuid().ToString("N")[..12]);

    public string Root => Path.Combine(Base, "root");

    public string Outside => Path.Combine(Base, "outside");

    public string ProductionRoot => Path.Combine(Base, "prod");

    public WritFixture Writ { get; private set; } = null!;

    /// <summary>The misbehaving server over Streamable HTTP, for the <c>url</c> downstream.</summary>
    public int RemotePort { get; private set; }

    private System.Diagnostics.Process? _remote;

    public string Policy => $$"""
        environments: { staging: {}, production: {} }
        groups: { files-oncall: [alice, bob] }
        resources:
          files:
            actions: [read, write, delete]
            environments:
              staging:
                mcp:
                  command: {{McpPeers.Node}}
                  args: ["{{McpPeers.Filesystem}}", "{{Base}}"]
                  tools:
                    list_allowed_directories: read
                    list_directory: { action: read, arguments: { path: { path: ["{{Root}}", "{{Root}}/**"], required: true } } }
                    read_text_file: { action: read, arguments: { path: { path: "{{Root}}/**", required: true } } }
                    read_multiple_files: { action: read, arguments: { paths: { path: "{{Root}}/**", required: true } } }
                    write_file: { action: write, arguments: { path: { path: "{{Root}}/**", required: true } } }
                    edit_file: { action: write, arguments: { path: { path: "{{Root}}/**", required: true } } }
                    move_file: { action: write, arguments: { source: { path: "{{Root}}/**", required: true }, destination: { path: "{{Root}}/**", required: true } } }
                    delete_file: delete   # not a tool of server-filesystem: Writ decides before the downstream is asked
              production:
                mcp:
                  command: {{McpPeers.Node}}
                  args: ["{{McpPeers.Filesystem}}", "{{ProductionRoot}}"]
                  tools:
                    list_allowed_directories: read
                    read_text_file: { action: read, arguments: { path: { path: "{{ProductionRoot}}/**", required: true } } }
          everything:
            actions: [read, write]
            environments:
              staging:
                mcp:
                  command: {{McpPeers.Node}}
                  args: ["{{McpPeers.Everything}}", stdio]
                  tools:
                    echo: read
                    get-sum: read
                    get-tiny-image: read
                    trigger-long-running-operation: { action: read, arguments: { duration: { max_bytes: 2 } } }
                    "get-annotated-*": read
                  resources: { "demo://resource/**": read }
                  prompts: { "*": read }
          evil:
            actions: [read]
            environments:
              staging:
                mcp:
                  command: {{McpPeers.Node}}
                  args: ["{{McpPeers.Evil}}"]
                  env: { API_KEY: "secret:evil-key" }
                  timeout: 2s
                  tools: { "*": read }
          remote:
            actions: [read]
            environments:
              staging:
                mcp:
                  url: http://127.0.0.1:{{RemotePort}}/mcp
                  headers: { Authorization: "Bearer {secret:evil-key}", X-Api-Key: "secret:evil-key" }
                  timeout: 5s
                  tools: { show_headers: read, echo: read }
          broken:
            actions: [read]
            environments:
              staging:
                mcp:
                  command: /nonexistent/mcp-server
                  tools: { "*": read }
          unsealed:
            actions: [read]
            environments:
              staging:
                mcp:
                  command: {{McpPeers.Node}}
                  args: ["{{McpPeers.Evil}}"]
                  env: { API_KEY: "secret:never-stored" }
                  tools: { "*": read }
        roles:
          files-reader:
            permissions: { files: [read], everything: [read], evil: [read], remote: [read], broken: [read], unsealed: [read] }
          files-writer:
            permissions: { files: [read, write, delete] }
            approvals: { files: { write: { approvers: [group:files-oncall, carol], justification: 10 } } }
          files-author:
            permissions: { files: [read, write] }
            preapproved: { files: [write] }
          production-reader:
            permissions: { files: [read] }
        agents:
          reader@staging: { kind: ai-agent, owner: sam@example.com, roles: [files-reader] }
          reader@production: { kind: ai-agent, owner: sam@example.com, roles: [production-reader] }
          writer@staging: { kind: ai-agent, owner: dana@example.com, roles: [files-writer] }
          author@staging: { kind: ai-agent, owner: dana@example.com, roles: [files-author] }
        """;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        Directory.CreateDirectory(Outside);
        Directory.CreateDirectory(ProductionRoot);
        await File.WriteAllTextAsync(Path.Combine(Root, "hello.txt"), "hello from the allowed root");
        await File.WriteAllTextAsync(Path.Combine(Root, "sub", "a.txt"), "nested");
        await File.WriteAllTextAsync(Path.Combine(Outside, "secret.txt"), "OUTSIDE-CONTENT");
        await File.WriteAllTextAsync(Path.Combine(ProductionRoot, "prod.txt"), "production data");
        File.CreateSymbolicLink(Path.Combine(Root, "link"), Outside);
        File.CreateSymbolicLink(Path.Combine(Root, "filelink"), Path.Combine(Outside, "secret.txt"));
        _remote = await StartRemoteAsync();
        Writ = await WritFixture.StartAsync(Policy);
        await Writ.Admin().PutSecretAsync("evil-key", EvilSecret);
    }

    private async Task<System.Diagnostics.Process> StartRemoteAsync()
    {
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            RemotePort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        var psi = new System.Diagnostics.ProcessStartInfo(McpPeers.Node) { WorkingDirectory = McpPeers.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { McpPeers.Evil, "http", RemotePort.ToString() }) psi.ArgumentList.Add(a);
        psi.Environment["API_KEY"] = "not-used-over-http";
        var process = System.Diagnostics.Process.Start(psi)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        Assert.True(line == "listening", "the HTTP test server did not start: " + line);
        return process;
    }

    public async Task DisposeAsync()
    {
        if (_remote is { HasExited: false }) _remote.Kill(entireProcessTree: true);
        _remote?.Dispose();
        await Writ.DisposeAsync();
        try { Directory.Delete(Base, recursive: true); } catch (IOException) { }
    }

    /// <summary>Enrolls <paramref name="agentId"/>, opens a task and gets a credential for <paramref name="scope"/>.</summary>
    public async Task<RawMcp> ConnectAsync(string agentId, string scope, bool initialize = true)
    {
        var agent = await Writ.EnrollAsync(agentId);
        var task = await agent.Client.StartTaskAsync("mcp test", onBehalfOf: "sam@example.com");
        var credential = await agent.Client.GetCredentialAsync(scope, task.Id);
        var mcp = new RawMcp(Writ, agent, task.Id, credential, scope.Split(':')[0]);
        if (initialize) await mcp.InitializeAsync();
        return mcp;
    }
}

/// <summary>A hand-driven Streamable HTTP MCP client: exact control over every byte, header and proof.</summary>
public sealed class RawMcp(WritFixture writ, TestAgent agent, string taskId, Credential credential, string resource)
{
    private int _id;

    public TestAgent Agent => agent;

    public string TaskId => taskId;

    public Credential Credential => credential;

    public string Resource => resource;

    public string? Session { get; set; }

    public Uri Url => new(WritFixture.Issuer + "/mcp/" + resource);

    public async Task<HttpResponseMessage> PostRawAsync(string body, Action<HttpRequestMessage>? edit = null, bool sse = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (sse) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (Session is not null) request.Headers.Add("Mcp-Session-Id", Session);
        agent.Client.Authorize(request, credential);
        edit?.Invoke(request);
        var response = await writ.Http().SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>Every JSON-RPC message of a response: one for JSON, one per event for SSE.</summary>
    public static async Task<List<JsonObject>> MessagesAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            return text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => (JsonObject)JsonNode.Parse(l[6..])!).ToList();
        return text.Length == 0 ? [] : [(JsonObject)JsonNode.Parse(text)!];
    }

    public async Task<JsonObject> RequestAsync(string method, JsonObject? parameters = null, bool sse = false)
    {
        var message = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = ++_id, ["method"] = method };
        if (parameters is not null) message["params"] = parameters;
        var response = await PostRawAsync(message.ToJsonString(), sse: sse);
        var all = await MessagesAsync(response);
        Assert.True(all.Count > 0, $"no JSON-RPC answer ({(int)response.StatusCode})");
        return all[^1];
    }

    public async Task InitializeAsync()
    {
        var response = await PostRawAsync(new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = ++_id, ["method"] = "initialize",
            ["params"] = new JsonObject { ["protocolVersion"] = "2025-06-18", ["capabilities"] = new JsonObject(), ["clientInfo"] = new JsonObject { ["name"] = "raw", ["version"] = "1" } },
        }.ToJsonString());
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Session = response.Headers.GetValues("Mcp-Session-Id").Single();
        var initialized = await PostRawAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, initialized.StatusCode);
    }

    public Task<JsonObject> CallToolAsync(string name, JsonObject? arguments = null) =>
        RequestAsync("tools/call", new JsonObject { ["name"] = name, ["arguments"] = arguments ?? new JsonObject() });

    public static string Text(JsonObject answer) =>
        string.Join("\n", (answer["result"]?["content"] as JsonArray ?? []).Select(c => (string?)c?["text"] ?? ""));

    public static bool IsToolError(JsonObject answer) => answer["result"]?["isError"]?.GetValue<bool>() == true;

    public static string? ErrorCode(JsonObject answer) => (string?)answer["error"]?["data"]?["code"];
}
