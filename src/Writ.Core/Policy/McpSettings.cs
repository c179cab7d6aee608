namespace Writ.Core.Policy;

/// <summary>
/// How the MCP gateway reaches one resource in one environment and what it lets through: the downstream MCP server
/// (a subprocess over stdio, or a Streamable HTTP URL), with secrets from the store injected at launch/connect, and
/// three rule sets — tools (<c>tools/call</c>), resources (<c>resources/read</c> URIs) and prompts (<c>prompts/get</c>) —
/// that map each name to an action. Anything no rule matches is denied (invariant 1). Read from the <c>mcp</c> key of
/// the resource's per-environment settings by <see cref="McpSettingsReader"/>; see docs/mcp.md.
/// </summary>
public sealed record McpServerTarget(
    McpDownstream Downstream,
    McpRuleSet Tools,
    McpRuleSet Resources,
    McpRuleSet Prompts,
    TimeSpan Timeout)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
}

/// <summary>Where the downstream MCP server is.</summary>
public abstract record McpDownstream;

/// <summary>A subprocess Writ launches and speaks to over stdin/stdout (MCP stdio transport).</summary>
public sealed record McpStdioDownstream(
    string Command,
    IReadOnlyList<string> Args,
    string? WorkingDirectory,
    IReadOnlyDictionary<string, McpTemplate> Environment) : McpDownstream;

/// <summary>A server reached over MCP Streamable HTTP.</summary>
public sealed record McpHttpDownstream(Uri Url, IReadOnlyDictionary<string, McpTemplate> Headers) : McpDownstream;

/// <summary>
/// A configured value that may name secrets from the store: written either as exactly <c>secret:NAME</c> or as text with
/// <c>{secret:NAME}</c> placeholders (<c>"Bearer {secret:NAME}"</c>). The plaintext exists only in the gateway's memory
/// and the downstream's environment or headers; the agent never sees it (invariant 4).
/// </summary>
public sealed record McpTemplate(string Text, IReadOnlyList<string> Secrets)
{
    public const string WholePrefix = "secret:";

    /// <summary>The value with every secret placeholder replaced by <paramref name="lookup"/>(name).</summary>
    public string Render(Func<string, string> lookup)
    {
        if (Secrets.Count == 0) return Text;
        if (Text.StartsWith(WholePrefix, StringComparison.Ordinal) && Secrets.Count == 1 && Text.Length == WholePrefix.Length + Secrets[0].Length)
            return lookup(Secrets[0]);
        var result = Text;
        foreach (var name in Secrets.Distinct(StringComparer.Ordinal))
            result = result.Replace("{secret:" + name + "}", lookup(name), StringComparison.Ordinal);
        return result;
    }
}

/// <summary>
/// A constraint on one argument of a tool call. <see cref="PathGlobs"/>: the value (a string, or each string of a
/// list) is a filesystem path that, once made absolute and normalised (<c>..</c> removed, symlinks resolved against the
/// real filesystem), must match one of the globs; the normalised path is what the downstream receives.
/// <see cref="Values"/>: the value must be one of these. <see cref="MaxBytes"/>: the argument's JSON text is at most this
/// long. <see cref="Required"/>: the call must carry the argument (so a downstream default cannot widen access).
/// </summary>
public sealed record McpArgumentRule(IReadOnlyList<string> PathGlobs, IReadOnlyList<string> Values, long? MaxBytes, bool Required)
{
    internal IReadOnlyList<TargetPattern> PathPatterns { get; init; } = [];

    /// <summary>True when <paramref name="normalisedPath"/> matches one of <see cref="PathGlobs"/>.</summary>
    public bool PathAllowed(string normalisedPath)
    {
        foreach (var p in PathPatterns)
        {
            if (p.IsMatch(normalisedPath)) return true;
        }
        return false;
    }
}

/// <summary>One rule: a name or glob (<c>*</c> within a <c>/</c>-segment, <c>**</c> across) → an action of the resource.</summary>
public sealed record McpRule(string Pattern, string Action, IReadOnlyDictionary<string, McpArgumentRule> Arguments)
{
    internal TargetPattern? Glob { get; init; }
}

/// <summary>
/// Name → rule lookup: an exact name is one dictionary hit (ordinal, case-sensitive: <c>Read_File</c> is not
/// <c>read_file</c>); otherwise the first glob in declaration order that matches. Names that are not plain
/// (see <see cref="IsPlainName"/>) never match, so look-alike, whitespace or control-character tricks are denied.
/// </summary>
public sealed class McpRuleSet
{
    public static McpRuleSet Empty { get; } = new([]);

    private readonly Dictionary<string, McpRule> _exact;
    private readonly McpRule[] _globs;

    public McpRuleSet(IReadOnlyList<McpRule> rules)
    {
        Rules = rules;
        _exact = new Dictionary<string, McpRule>(StringComparer.Ordinal);
        foreach (var r in rules.Where(r => r.Glob is null)) _exact.TryAdd(r.Pattern, r);
        _globs = rules.Where(r => r.Glob is not null).ToArray();
    }

    public IReadOnlyList<McpRule> Rules { get; }

    public McpRule? Match(string? name)
    {
        if (name is null || !IsPlainName(name)) return null;
        if (_exact.TryGetValue(name, out var rule)) return rule;
        foreach (var g in _globs)
        {
            if (g.Glob!.IsMatch(name)) return g;
        }
        return null;
    }

    /// <summary>
    /// Printable ASCII without spaces, at most 2048 characters: covers MCP tool and prompt names
    /// (<c>[A-Za-z0-9_.-/]</c>) and URIs. Anything else (Unicode look-alikes, whitespace, control characters) is refused
    /// rather than compared, so a name can never look like an allowed one to a human and differ to the matcher.
    /// </summary>
    public static bool IsPlainName(string name)
    {
        if (name.Length is 0 or > 2048) return false;
        foreach (var c in name)
        {
            if (c <= ' ' || c > '~') return false;
        }
        return true;
    }
}
