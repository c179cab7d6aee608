using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>The <c>mcp</c> key of a resource×environment: downstream, secrets, per-tool rules, validated with positions.</summary>
public sealed class McpSettingsTests
{
    private const int Indent = 8;

    /// <summary>A policy whose files/staging settings are <paramref name="settings"/>, from line 8, indented by <see cref="Indent"/>.</summary>
    private static string With(string settings) =>
        "environments: [staging, production]\n" +
        "resources:\n" +
        "  files:\n" +
        "    actions: [read, write, delete]\n" +
        "    environments:\n" +
        "      production:\n" +
        "      staging:\n" +
        string.Join("\n", settings.Split('\n').Select(l => new string(' ', Indent) + l)) + "\n";

    private const string Stdio = """
        mcp:
          command: npx
          args: [-y, "@modelcontextprotocol/server-filesystem", /srv/data]
          cwd: /srv
          env: { API_KEY: "secret:files-key", MODE: plain, AUTH: "Bearer {secret:files-key}" }
          timeout: 5s
          tools:
            list_directory: read
            "list_*": read
            read_text_file: { action: read, arguments: { path: { path: "/srv/data/**", required: true }, encoding: { values: [utf-8] }, head: { max_bytes: 8 } } }
            write_file: write
          resources: { "file:///srv/data/**": read }
          prompts: { "*": read }
        """;

    private static McpServerTarget Target(string settings) =>
        PolicyTestData.LoadValid(With(settings)).Resources["files"].Environments["staging"].Mcp!;

    private static PolicyDiagnostic Single(string settings)
    {
        var result = PolicyTestData.Load(With(settings));
        Assert.True(result.Diagnostics.Count == 1, "expected one diagnostic, got:\n" + string.Join("\n", result.Diagnostics));
        return result.Diagnostics[0] with { Column = result.Diagnostics[0].Column - Indent };
    }

    [Fact]
    public void Load_StdioSettings_CompilesTarget()
    {
        var t = Target(Stdio);

        var d = Assert.IsType<McpStdioDownstream>(t.Downstream);
        Assert.Equal("npx", d.Command);
        Assert.Equal(["-y", "@modelcontextprotocol/server-filesystem", "/srv/data"], d.Args);
        Assert.Equal("/srv", d.WorkingDirectory);
        Assert.Equal("s3cr3t", d.Environment["API_KEY"].Render(_ => "s3cr3t"));
        Assert.Equal("plain", d.Environment["MODE"].Render(_ => throw new InvalidOperationException("no secret here")));
        Assert.Equal("Bearer s3cr3t", d.Environment["AUTH"].Render(_ => "s3cr3t"));
        Assert.Equal(TimeSpan.FromSeconds(5), t.Timeout);
        Assert.Equal(4, t.Tools.Rules.Count);
        Assert.Null(PolicyTestData.LoadValid(With(Stdio)).Resources["files"].Environments["production"].Mcp);
    }

    [Fact]
    public void Match_ExactBeatsGlob_AndTricksMatchNothing()
    {
        var tools = Target(Stdio).Tools;

        Assert.Equal("list_directory", tools.Match("list_directory")!.Pattern);
        Assert.Equal("list_*", tools.Match("list_allowed_directories")!.Pattern);
        Assert.Null(tools.Match("Read_Text_File"));
        Assert.Null(tools.Match("read_text_file "));
        Assert.Null(tools.Match(" read_text_file"));
        Assert.Null(tools.Match("re\u0430d_text_file")); // Cyrillic a
        Assert.Null(tools.Match("read_text_file\u200b"));
        Assert.Null(tools.Match("list_\ndirectory"));
        Assert.Null(tools.Match("edit_file"));
        Assert.Null(tools.Match(null));
    }

    [Fact]
    public void Match_ArgumentRules_AreCompiled()
    {
        var rule = Target(Stdio).Tools.Match("read_text_file")!;

        Assert.Equal("read", rule.Action);
        var path = rule.Arguments["path"];
        Assert.True(path.Required);
        Assert.True(path.PathAllowed("/srv/data/a/b.txt"));
        Assert.False(path.PathAllowed("/srv/other/b.txt"));
        Assert.False(path.PathAllowed("/srv/database"));
        Assert.Equal(["utf-8"], rule.Arguments["encoding"].Values);
        Assert.Equal(8, rule.Arguments["head"].MaxBytes);
        Assert.Equal("read", Target(Stdio).Resources.Match("file:///srv/data/x.txt")!.Action);
        Assert.Null(Target(Stdio).Resources.Match("file:///etc/passwd"));
    }

    [Fact]
    public void Load_HttpSettings_CompilesHeaders()
    {
        var t = Target("""
            mcp:
              url: https://mcp.example.com/mcp
              headers: { Authorization: "Bearer {secret:everything-key}" }
              tools: { "*": read }
            """);

        var d = Assert.IsType<McpHttpDownstream>(t.Downstream);
        Assert.Equal("https://mcp.example.com/mcp", d.Url.ToString());
        Assert.Equal("Bearer k", d.Headers["authorization"].Render(_ => "k"));
        Assert.Equal(["everything-key"], d.Headers["Authorization"].Secrets);
    }

    [Theory]
    [InlineData("mcp:\n  tools: { a: read }", PolicyCodes.InvalidMcp, 2, 3)]
    [InlineData("mcp:\n  command: x\n  url: http://a/\n", PolicyCodes.InvalidMcp, 2, 3)]
    [InlineData("mcp:\n  command: x\n  tols: { a: read }", PolicyCodes.UnknownKey, 3, 3)]
    [InlineData("mcp:\n  command: x\n  tools: { a: execute }", PolicyCodes.UnknownAction, 3, 15)]
    [InlineData("mcp:\n  command: x\n  env: { KEY: \"secret:bad name\" }", PolicyCodes.InvalidCredential, 3, 15)]
    [InlineData("mcp:\n  command: x\n  env: { 1KEY: v }", PolicyCodes.InvalidMcp, 3, 10)]
    [InlineData("mcp:\n  url: ftp://a/\n", PolicyCodes.InvalidMcp, 2, 8)]
    [InlineData("mcp:\n  url: http://a/\n  headers: { Mcp-Session-Id: x }", PolicyCodes.InvalidMcp, 3, 14)]
    [InlineData("mcp:\n  command: x\n  timeout: forever", PolicyCodes.InvalidMcp, 3, 12)]
    [InlineData("mcp:\n  command: x\n  timeout: 999999999h", PolicyCodes.InvalidMcp, 3, 12)]
    [InlineData("mcp:\n  command: x\n  tools: { a: { action: read, arguments: { p: { path: relative/** } } } }", PolicyCodes.InvalidMcp, 3, 55)]
    [InlineData("mcp:\n  command: x\n  tools: { a: { action: read, arguments: { p: { path: /srv/../etc } } } }", PolicyCodes.InvalidMcp, 3, 55)]
    [InlineData("mcp:\n  command: x\n  tools: { a: { action: read, arguments: { p: { max_bytes: -1 } } } }", PolicyCodes.InvalidLimit, 3, 60)]
    [InlineData("mcp:\n  command: x\n  tools: { \"a b\": read }", PolicyCodes.InvalidMcp, 3, 12)]
    [InlineData("mcp:\n  command: x\n  prompts: { p: { action: read, arguments: {} } }", PolicyCodes.UnknownKey, 3, 33)]
    [InlineData("mcp:\n  command: x\n  args: [a]\n  headers: { X: y }", PolicyCodes.InvalidMcp, 4, 12)]
    public void Load_BadSettings_ReportsPosition(string settings, string code, int line, int column)
    {
        var d = Single(settings);

        Assert.Equal(code, d.Code);
        Assert.Equal((line + 7, column), (d.Line, d.Column));
    }
}
