using System.Text.Json.Nodes;
using Writ.Client.Http;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// <c>@modelcontextprotocol/server-filesystem</c> behind Writ with a read-only role: the agent sees and uses only the read
/// tools, and only under the allowed root; write tools, other paths, <c>..</c> and symlinks out are refused by Writ before
/// the downstream (which itself would allow the whole temp tree) sees the call.
/// </summary>
public sealed class McpFilesystemTests(McpTestBed bed) : IClassFixture<McpTestBed>
{
    [Fact]
    public async Task ToolsList_ReadOnlyRole_ShowsOnlyReadTools()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var answer = await mcp.RequestAsync("tools/list");

        var names = ((JsonArray)answer["result"]!["tools"]!).Select(t => (string)t!["name"]!).ToList();
        Assert.Contains("read_text_file", names);
        Assert.Contains("list_directory", names);
        Assert.DoesNotContain("write_file", names);
        Assert.DoesNotContain("edit_file", names);
        Assert.DoesNotContain("move_file", names);
        Assert.DoesNotContain("directory_tree", names); // not in policy at all
    }

    [Fact]
    public async Task ReadTextFile_UnderRoot_ReturnsContent()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var read = await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") });
        var list = await mcp.CallToolAsync("list_directory", new JsonObject { ["path"] = bed.Root });
        var many = await mcp.CallToolAsync("read_multiple_files", new JsonObject { ["paths"] = new JsonArray(Path.Combine(bed.Root, "hello.txt"), Path.Combine(bed.Root, "sub", "a.txt")) });

        Assert.False(RawMcp.IsToolError(read), RawMcp.Text(read));
        Assert.Contains("hello from the allowed root", RawMcp.Text(read));
        Assert.Contains("hello.txt", RawMcp.Text(list));
        Assert.Contains("nested", RawMcp.Text(many));
    }

    [Theory]
    [InlineData("write_file")]
    [InlineData("edit_file")]
    [InlineData("move_file")]
    public async Task WriteTool_CalledAnywayByReader_IsRefusedAndNothingChanges(string tool)
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        var target = Path.Combine(bed.Root, "created-by-" + tool + ".txt");

        var answer = await mcp.CallToolAsync(tool, new JsonObject
        {
            ["path"] = target, ["content"] = "x", ["edits"] = new JsonArray(), ["source"] = Path.Combine(bed.Root, "hello.txt"), ["destination"] = target,
        });

        Assert.True(RawMcp.IsToolError(answer));
        Assert.Contains("mcp.action_not_granted", RawMcp.Text(answer));
        Assert.False(File.Exists(target));
        Assert.True(File.Exists(Path.Combine(bed.Root, "hello.txt")));
    }

    [Fact]
    public async Task WriteTool_RoleNeedsApproval_SaysApprovalRequired()
    {
        var mcp = await bed.ConnectAsync("writer@staging", "files:read");
        var target = Path.Combine(bed.Root, "needs-approval.txt");

        var answer = await mcp.CallToolAsync("write_file", new JsonObject { ["path"] = target, ["content"] = "x" });

        var text = RawMcp.Text(answer);
        Assert.True(RawMcp.IsToolError(answer));
        Assert.Contains("mcp.approval_required", text);
        Assert.Contains("needs a written justification and a human's approval", text);
        Assert.Contains("writ mcp-proxy with --scope files:write --justification \"why\"", text);
        Assert.Contains("/oauth/token with scope=files:write and justification=\"why\"", text);
        Assert.DoesNotContain("alice", text); // the approvers are not the model's business
        Assert.DoesNotContain("files-oncall", text);
        Assert.DoesNotContain("carol", text);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public async Task DeleteTool_NeedsAnElevation_SaysToNameTheTarget()
    {
        var mcp = await bed.ConnectAsync("writer@staging", "files:read");

        var answer = await mcp.CallToolAsync("delete_file", new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") });

        var text = RawMcp.Text(answer);
        Assert.Contains("mcp.approval_required", text);
        Assert.Contains("a human's approval of a time-limited elevation on one target", text);
        Assert.Contains("--scope files:delete --target TARGET --justification \"why\"", text);
        Assert.Contains("scope=files:delete, target=TARGET and justification=\"why\"", text);
        Assert.True(File.Exists(Path.Combine(bed.Root, "hello.txt")));
    }

    [Fact]
    public async Task WriteTool_NeedsApproval_TheFlowTheRefusalNames_ThenLetsItThroughInTheSameSession()
    {
        var mcp = await bed.ConnectAsync("writer@staging", "files:read");
        var target = Path.Combine(bed.Root, "approved-write.txt");
        var write = new JsonObject { ["path"] = target, ["content"] = "approved by a human" };
        var refused = await mcp.CallToolAsync("write_file", (JsonObject)write.DeepClone());

        // What the refusal says to do over HTTP: a token for files:write with a justification, which a human approves.
        var pending = await Assert.ThrowsAsync<WritApiException>(() =>
            mcp.Agent.Client.GetCredentialAsync("files:write", mcp.TaskId, justification: "write the approved release notes"));
        await (await bed.Writ.UserAsync("alice", "approver")).ApproveAsync(pending.ApprovalId!, "release notes are expected");
        var approved = await mcp.Agent.Client.GetCredentialAsync("files:write", mcp.TaskId, approvalId: pending.ApprovalId);
        var written = await new RawMcp(bed.Writ, mcp.Agent, mcp.TaskId, approved, "files") { Session = mcp.Session }.CallToolAsync("write_file", write);

        Assert.Contains("mcp.approval_required", RawMcp.Text(refused));
        Assert.Equal("approval_required", pending.OAuthError);
        Assert.False(RawMcp.IsToolError(written), RawMcp.Text(written));
        Assert.Equal("approved by a human", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task WriteFile_PreapprovedWriter_WritesUnderRoot_DecisionAuditedBeforeOutcome()
    {
        var mcp = await bed.ConnectAsync("author@staging", "files:write");
        var target = Path.Combine(bed.Root, "written.txt");

        var list = await mcp.RequestAsync("tools/list");
        var written = await mcp.CallToolAsync("write_file", new JsonObject { ["path"] = target, ["content"] = "by the author" });
        var outside = await mcp.CallToolAsync("write_file", new JsonObject { ["path"] = Path.Combine(bed.Outside, "nope.txt"), ["content"] = "x" });
        var read = await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = target });

        var names = ((JsonArray)list["result"]!["tools"]!).Select(t => (string)t!["name"]!).ToList();
        Assert.Contains("write_file", names);
        Assert.DoesNotContain("read_text_file", names); // files:read is not in this credential's scope
        Assert.False(RawMcp.IsToolError(written), RawMcp.Text(written));
        Assert.Equal("by the author", await File.ReadAllTextAsync(target));
        Assert.Contains("mcp.argument_denied", RawMcp.Text(outside));
        Assert.False(File.Exists(Path.Combine(bed.Outside, "nope.txt")));
        Assert.Contains("mcp.action_not_in_scope", RawMcp.Text(read));
        var audit = (await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId)).OrderBy(a => a.Seq).ToList();
        var decision = Assert.Single(audit, a => a.Action == "mcp.call" && a.Decision == "allow" && a.Details!.Contains("write_file"));
        var outcome = Assert.Single(audit, a => a.Action == "mcp.result");
        Assert.Equal("files:write", decision.Scope);
        Assert.True(decision.Seq < outcome.Seq);
        Assert.Contains("\"result_bytes\":", outcome.Details);
    }

    public static TheoryData<string> Escapes => new()
    {
        "/etc/passwd",
        "{outside}/secret.txt",
        "{root}/../outside/secret.txt",
        "{root}/sub/../../outside/secret.txt",
        "{root}/link/secret.txt",
        "{root}/filelink",
        "{root}",
        "relative/hello.txt",
        "~/hello.txt",
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task ReadTextFile_PathOutsideRoot_IsRefusedByWrit(string path)
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");
        path = path.Replace("{root}", bed.Root).Replace("{outside}", bed.Outside);

        var answer = await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = path });

        Assert.True(RawMcp.IsToolError(answer));
        Assert.StartsWith("Refused by Writ (mcp.argument_denied)", RawMcp.Text(answer));
        Assert.DoesNotContain("OUTSIDE-CONTENT", answer.ToJsonString());
        // Decided before the downstream: a deny and no result record for this call.
        var audit = await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId);
        Assert.Contains(audit, a => a.Action == "mcp.call" && a.Decision == "deny" && a.Reason == "mcp.argument_denied");
        Assert.DoesNotContain(audit, a => a.Action == "mcp.result");
    }

    [Fact]
    public async Task ReadTextFile_SymlinkInsideRoot_IsForwardedAsItsRealPath()
    {
        File.CreateSymbolicLink(Path.Combine(bed.Root, "inner-link"), Path.Combine(bed.Root, "sub"));
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var answer = await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = bed.Root + "/sub/../inner-link/a.txt" });

        Assert.Equal("nested", RawMcp.Text(answer));
        var audit = await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId, action: "mcp.call");
        Assert.Contains(audit, a => a.Decision == "allow" && a.Details!.Contains("read_text_file"));
    }

    public static TheoryData<string> Tricks => new()
    {
        "Read_Text_File",
        "READ_TEXT_FILE",
        "read_text_file ",
        " read_text_file",
        "read_text_file\t",
        "re\u0430d_text_file",   // Cyrillic a
        "read_text_fil\u0435",   // Cyrillic e
        "read_text_file\u200b",  // zero-width space
        "read\u2010text_file",   // Unicode hyphen
        "read_text_file\n",
        "",
    };

    [Theory]
    [MemberData(nameof(Tricks))]
    public async Task ToolName_Tricks_AreUnknownTools(string name)
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        var answer = await mcp.CallToolAsync(name, new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") });

        Assert.True(RawMcp.IsToolError(answer));
        Assert.Contains("mcp.unknown_name", RawMcp.Text(answer));
        Assert.DoesNotContain("hello from the allowed root", answer.ToJsonString());
    }

    [Fact]
    public async Task ProductionToken_ReachesOnlyTheProductionServer()
    {
        var prod = await bed.ConnectAsync("reader@production", "files:read");

        var dirs = await prod.CallToolAsync("list_allowed_directories");
        var staging = await prod.CallToolAsync("read_text_file", new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt") });
        var own = await prod.CallToolAsync("read_text_file", new JsonObject { ["path"] = Path.Combine(bed.ProductionRoot, "prod.txt") });

        Assert.Contains(bed.ProductionRoot, RawMcp.Text(dirs));
        Assert.DoesNotContain(bed.Root, RawMcp.Text(dirs));
        Assert.True(RawMcp.IsToolError(staging));
        Assert.Equal("production data", RawMcp.Text(own));
    }

    [Fact]
    public async Task Audit_ToolCall_RecordsAgentTaskOnBehalfOfArgumentsAndSize()
    {
        var mcp = await bed.ConnectAsync("reader@staging", "files:read");

        await mcp.CallToolAsync("read_text_file", new JsonObject { ["path"] = Path.Combine(bed.Root, "hello.txt"), ["api_token"] = "tok_should_not_be_kept" });

        var audit = await bed.Writ.Admin().SearchAuditAsync(task: mcp.TaskId);
        var call = Assert.Single(audit, a => a.Action == "mcp.call" && a.Details!.Contains("read_text_file"));
        Assert.Equal(("reader@staging", "sam@example.com", "files", "staging", "files:read", "allow"), (call.ActorId, call.OnBehalfOf, call.Resource, call.Environment, call.Scope, call.Decision));
        Assert.Equal("ai-agent", call.ActorKind);
        Assert.Contains(Path.Combine(bed.Root, "hello.txt"), call.Details);
        Assert.DoesNotContain("tok_should_not_be_kept", call.Details);
        // A read: the decision (durable before the answer left), then its outcome, chained after it.
        Assert.DoesNotContain("\"result_bytes\":", call.Details);
        var outcome = Assert.Single(audit, a => a.Action == "mcp.result");
        Assert.Equal(("reader@staging", "sam@example.com", "files:read", "info"), (outcome.ActorId, outcome.OnBehalfOf, outcome.Scope, outcome.Decision));
        Assert.Contains("\"result_bytes\":", outcome.Details);
        Assert.DoesNotContain("tok_should_not_be_kept", outcome.Details);
        Assert.Null(outcome.Reason);
        Assert.True(outcome.Seq > call.Seq);
        Assert.True((await bed.Writ.Admin().VerifyAuditAsync()).Ok);
    }
}
