namespace Writ.Scanner.Detection;

/// <summary>What the engine knows about the file it is scanning, from its path alone.</summary>
internal sealed class FileContext
{
    public FileContext(string relativePath)
    {
        Path = relativePath.Replace('\\', '/');
        var slash = Path.LastIndexOf('/');
        FileName = slash >= 0 ? Path[(slash + 1)..] : Path;
        var dot = FileName.LastIndexOf('.');
        Extension = dot > 0 ? FileName[(dot + 1)..].ToLowerInvariant() : "";
        IsAgentContext = ClassifyAgentContext(Path, FileName);
        AllowsBareValues = FileName.StartsWith(".env", StringComparison.Ordinal) || FileName.EndsWith(".env", StringComparison.Ordinal)
            || Extension is "" or "yml" or "yaml" or "ini" or "cfg" or "conf" or "toml" or "properties" or "sh" or "bash" or "zsh"
                or "env" or "tf" or "tfvars" or "hcl" or "txt" or "md" or "mdc" or "npmrc" or "pypirc" or "netrc" or "dockerfile" or "ps1"
            || FileName is "Dockerfile" or ".npmrc" or ".pypirc" or ".netrc" or ".pgpass" or "Jenkinsfile" or ".cursorrules" or ".windsurfrules";
    }

    public string Path { get; }
    public string FileName { get; }
    public string Extension { get; }

    /// <summary>
    /// Files an AI agent loads as context or that hold live deploy credentials: agent rule files, MCP
    /// configs, <c>.env*</c>, CI pipelines. A secret here is read on every run, so severity goes up a level.
    /// </summary>
    public bool IsAgentContext { get; }

    /// <summary>Config-like files where <c>KEY=value</c> without quotes is a literal, not an expression.</summary>
    public bool AllowsBareValues { get; }

    private static readonly HashSet<string> AgentFiles = new(StringComparer.OrdinalIgnoreCase)
    {
        "AGENTS.md", "AGENT.md", "CLAUDE.md", "CLAUDE.local.md", "GEMINI.md", ".cursorrules", ".windsurfrules", ".clinerules",
        "copilot-instructions.md", ".mcp.json", "mcp.json", "mcp_config.json", "claude_desktop_config.json", ".aider.conf.yml",
        ".gitlab-ci.yml", ".travis.yml", "Jenkinsfile", "azure-pipelines.yml", "bitbucket-pipelines.yml", ".drone.yml",
        "cloudbuild.yaml", "cloudbuild.yml", "buildspec.yml", "appveyor.yml",
    };

    private static readonly string[] AgentDirs =
    [
        ".cursor/", ".claude/", ".clinerules/", ".windsurf/", ".github/workflows/", ".github/actions/", ".circleci/",
        ".buildkite/", ".gitlab/", ".continue/", ".roo/", ".amazonq/", ".vscode/mcp",
    ];

    private static bool ClassifyAgentContext(string path, string name)
    {
        if (AgentFiles.Contains(name)) return true;
        if (name.StartsWith(".env", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".env", StringComparison.OrdinalIgnoreCase)) return true;
        var p = "/" + path;
        foreach (var d in AgentDirs)
            if (p.Contains("/" + d, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
