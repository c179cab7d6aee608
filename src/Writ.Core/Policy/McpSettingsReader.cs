using System.Globalization;
using System.Text.RegularExpressions;
using Writ.Core.Secrets;

namespace Writ.Core.Policy;

/// <summary>
/// Reads the <c>mcp</c> key of one resource×environment's settings into an <see cref="McpServerTarget"/>, reporting
/// every problem with its position. Inside <c>mcp</c> unknown keys are errors: a typo there would silently drop a
/// constraint. Shape (docs/mcp.md):
/// <code>
/// mcp:
///   command: npx                      # or url: https://…/mcp (+ headers)
///   args: [-y, "@modelcontextprotocol/server-filesystem", /srv/data]
///   env: { API_KEY: "secret:files-key" }
///   timeout: 30s
///   tools:
///     list_directory: read
///     read_text_file: { action: read, arguments: { path: { path: "/srv/data/**", required: true } } }
///   resources: { "file:///srv/data/**": read }
///   prompts: { "*": read }
/// </code>
/// </summary>
internal sealed partial class McpSettingsReader(List<PolicyDiagnostic> diagnostics) : YamlSectionReader(diagnostics)
{
    private static readonly string[] Keys = ["command", "args", "cwd", "env", "url", "headers", "timeout", "tools", "resources", "prompts"];
    private static readonly string[] RuleKeys = ["action", "arguments"];
    private static readonly string[] ArgumentKeys = ["path", "values", "max_bytes", "required"];

    /// <summary>Headers the HTTP transport owns; a configured header there would break framing or the MCP session.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
        "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id", "dpop",
    };

    [GeneratedRegex(@"\{secret:([^{}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex("^[A-Za-z0-9_.$-][A-Za-z0-9_.$/-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex ArgumentName();

    public McpServerTarget? Read(string resource, string environment, IReadOnlyCollection<string> actions, YMapping settings)
    {
        var mcpNode = settings.Entries.FirstOrDefault(e => e.Key is YScalar { IsNull: false, Value: "mcp" }).Value;
        if (mcpNode is null) return null;
        var context = $"mcp of {resource} in {environment}";
        if (Mapping(mcpNode, context) is not { } map) return null;

        var before = Diagnostics.Count;
        Located? command = null, cwd = null, url = null, timeout = null;
        YNode? args = null, env = null, headers = null, tools = null, resources = null, prompts = null;
        foreach (var (key, value) in Fields(map, context, Keys))
        {
            switch (key.Value)
            {
                case "command": command = Scalar(value, $"command of {context}"); break;
                case "cwd": cwd = Scalar(value, $"cwd of {context}"); break;
                case "url": url = Scalar(value, $"url of {context}"); break;
                case "timeout": timeout = Scalar(value, $"timeout of {context}"); break;
                case "args": args = value; break;
                case "env": env = value; break;
                case "headers": headers = value; break;
                case "tools": tools = value; break;
                case "resources": resources = value; break;
                default: prompts = value; break;
            }
        }

        McpDownstream? downstream = null;
        var hasStdio = command is not null || HasKey(map, "command");
        var hasHttp = url is not null || HasKey(map, "url");
        if (hasStdio == hasHttp)
        {
            Report(PolicyCodes.InvalidMcp, map.Pos, $"{context} needs exactly one of 'command' (a server Writ launches over stdio) or 'url' (a Streamable HTTP server)");
        }
        else if (hasStdio)
        {
            if (headers is not null) Report(PolicyCodes.InvalidMcp, headers.Pos, "'headers' goes with 'url', not with 'command'");
            if (command is { } c)
            {
                if (c.Value.Any(char.IsControl)) Report(PolicyCodes.InvalidMcp, c.Pos, "the command cannot contain control characters");
                IReadOnlyList<string> argList = args is null ? [] : Strings(args, $"args of {context}").Select(x => x.Value).ToArray();
                var envMap = env is null ? new Dictionary<string, McpTemplate>(StringComparer.Ordinal) : Templates(env, $"env of {context}", isHeader: false);
                if (cwd is { } w && !Path.IsPathRooted(w.Value)) Report(PolicyCodes.InvalidMcp, w.Pos, $"cwd of {context} must be an absolute path");
                downstream = new McpStdioDownstream(c.Value, argList, cwd?.Value, envMap);
            }
        }
        else
        {
            foreach (var (name, node) in new[] { ("args", args), ("env", env) })
            {
                if (node is not null) Report(PolicyCodes.InvalidMcp, node.Pos, $"'{name}' goes with 'command', not with 'url'");
            }
            if (cwd is { } w) Report(PolicyCodes.InvalidMcp, w.Pos, "'cwd' goes with 'command', not with 'url'");
            if (url is { } u)
            {
                if (!Uri.TryCreate(u.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
                    Report(PolicyCodes.InvalidMcp, u.Pos, $"url of {context} must be an absolute http:// or https:// URL, not '{u.Value}'");
                else if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
                    Report(PolicyCodes.InvalidMcp, u.Pos, $"url of {context} must carry no user info or fragment (put a credential in 'headers' with {{secret:NAME}})");
                else
                    downstream = new McpHttpDownstream(uri, headers is null ? new Dictionary<string, McpTemplate>(StringComparer.Ordinal) : Templates(headers, $"headers of {context}", isHeader: true));
            }
        }

        var limit = McpServerTarget.DefaultTimeout;
        if (timeout is { } t)
        {
            if (!Ttl.TryParse(t.Value, out limit) || limit <= TimeSpan.Zero || limit > TimeSpan.FromMinutes(10))
                Report(PolicyCodes.InvalidMcp, t.Pos, $"timeout of {context} must be a duration between 1s and 10m like 30s or 2m, not '{t.Value}'");
        }

        var toolRules = tools is null ? McpRuleSet.Empty : Rules(tools, $"tools of {context}", actions, withArguments: true);
        var resourceRules = resources is null ? McpRuleSet.Empty : Rules(resources, $"resources of {context}", actions, withArguments: false);
        var promptRules = prompts is null ? McpRuleSet.Empty : Rules(prompts, $"prompts of {context}", actions, withArguments: false);
        if (Diagnostics.Count != before || downstream is null) return null;
        return new McpServerTarget(downstream, toolRules, resourceRules, promptRules, limit);
    }

    private Dictionary<string, McpTemplate> Templates(YNode node, string what, bool isHeader)
    {
        var result = new Dictionary<string, McpTemplate>(isHeader ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        if (Mapping(node, what) is not { } map) return result;
        foreach (var (keyNode, valueNode) in map.Entries)
        {
            if (keyNode is not YScalar { IsNull: false } key)
            {
                Report(PolicyCodes.InvalidType, keyNode.Pos, $"a key must be a plain name, not {keyNode.Kind}");
                continue;
            }
            if (isHeader ? !HeaderName().IsMatch(key.Value) || ReservedHeaders.Contains(key.Value) : !EnvName().IsMatch(key.Value))
            {
                Report(PolicyCodes.InvalidMcp, key.Pos, isHeader
                    ? $"'{key.Value}' cannot be set in {what}: use a header name (RFC 9110 token) other than framing, Accept, DPoP or MCP session headers"
                    : $"'{key.Value}' is not an environment variable name (letters, digits, '_', not starting with a digit)");
                continue;
            }
            if (result.ContainsKey(key.Value))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"'{key.Value}' appears twice in {what}");
                continue;
            }
            if (Scalar(valueNode, $"{what} {key.Value}") is not { } value) continue;
            if (Template(value, $"{what} {key.Value}") is { } template) result[key.Value] = template;
        }
        return result;
    }

    private McpTemplate? Template(Located value, string what)
    {
        var text = value.Value;
        if (text.Any(c => char.IsControl(c) && c != '\t'))
        {
            Report(PolicyCodes.InvalidMcp, value.Pos, $"{what} cannot contain control characters");
            return null;
        }
        List<string> names = [];
        if (text.StartsWith(McpTemplate.WholePrefix, StringComparison.Ordinal)) names.Add(text[McpTemplate.WholePrefix.Length..]);
        else names.AddRange(Placeholder().Matches(text).Select(m => m.Groups[1].Value));
        foreach (var name in names)
        {
            if (SecretRules.CheckName(name) is not null)
            {
                Report(PolicyCodes.InvalidCredential, value.Pos, $"'{name}' in {what} is not a valid secret name (letters, digits, '.', '_', '-')");
                return null;
            }
        }
        return new McpTemplate(text, names);
    }

    private McpRuleSet Rules(YNode node, string what, IReadOnlyCollection<string> actions, bool withArguments)
    {
        var rules = new List<McpRule>();
        if (Mapping(node, $"{what} (a map of name or glob -> action)") is not { } map) return McpRuleSet.Empty;
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Entries)
        {
            if (keyNode is not YScalar { IsNull: false } key)
            {
                Report(PolicyCodes.InvalidType, keyNode.Pos, $"a key must be a plain name, not {keyNode.Kind}");
                continue;
            }
            if (seen.TryGetValue(key.Value, out var first))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"'{key.Value}' appears twice in {what} (first at {first})");
                continue;
            }
            seen[key.Value] = key.Pos;
            if (!McpRuleSet.IsPlainName(key.Value))
            {
                Report(PolicyCodes.InvalidMcp, key.Pos, $"'{key.Value}' in {what} must be printable ASCII without spaces");
                continue;
            }
            TargetPattern? glob = null;
            if (key.Value.Contains('*', StringComparison.Ordinal))
            {
                glob = TargetPattern.TryCreate(key.Value, out var error);
                if (glob is null)
                {
                    Report(PolicyCodes.InvalidMcp, key.Pos, $"'{key.Value}' in {what}: {error}");
                    continue;
                }
            }

            Located? action = null;
            var arguments = new Dictionary<string, McpArgumentRule>(StringComparer.Ordinal);
            if (value is YScalar { IsNull: false } s)
            {
                action = new Located(s.Value, s.Pos);
            }
            else if (Mapping(value, $"rule '{key.Value}' of {what} (an action, or {{action, arguments}})") is { } rule)
            {
                foreach (var (k, v) in Fields(rule, $"rule '{key.Value}' of {what}", withArguments ? RuleKeys : ["action"]))
                {
                    if (k.Value == "action") action = Scalar(v, "action");
                    else ReadArguments(v, $"arguments of '{key.Value}'", arguments);
                }
                if (action is null && !HasKey(rule, "action")) Report(PolicyCodes.MissingField, rule.Pos, $"rule '{key.Value}' of {what} needs 'action'");
            }
            if (action is not { } a) continue;
            if (!actions.Contains(a.Value))
            {
                Report(PolicyCodes.UnknownAction, a.Pos, $"'{key.Value}' maps to action '{a.Value}', but the resource has {string.Join(", ", actions)}");
                continue;
            }
            rules.Add(new McpRule(key.Value, a.Value, arguments) { Glob = glob });
        }
        return new McpRuleSet(rules);
    }

    private void ReadArguments(YNode node, string what, Dictionary<string, McpArgumentRule> into)
    {
        if (Mapping(node, what) is not { } map) return;
        foreach (var (keyNode, value) in map.Entries)
        {
            if (keyNode is not YScalar { IsNull: false } key || !ArgumentName().IsMatch(key.Value))
            {
                Report(PolicyCodes.InvalidMcp, keyNode.Pos, $"argument names in {what} are plain names (letters, digits, '_', '-', '.')");
                continue;
            }
            if (into.ContainsKey(key.Value))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"argument '{key.Value}' appears twice in {what}");
                continue;
            }
            if (Mapping(value, $"argument '{key.Value}' of {what} ({{path, values, max_bytes, required}})") is not { } c) continue;
            List<string> paths = [], values = [];
            var patterns = new List<TargetPattern>();
            long? maxBytes = null;
            var required = false;
            foreach (var (k, v) in Fields(c, $"argument '{key.Value}' of {what}", ArgumentKeys))
            {
                switch (k.Value)
                {
                    case "path":
                        foreach (var p in v is YSequence ? Strings(v, "path") : Scalar(v, "path") is { } one ? [one] : [])
                        {
                            var pattern = p.Value.Length > 1 ? p.Value.TrimEnd('/') : p.Value;
                            if (!pattern.StartsWith('/') || pattern.Split('/').Any(seg => seg is "." or ".."))
                            {
                                Report(PolicyCodes.InvalidMcp, p.Pos, $"path glob '{p.Value}' must be absolute and have no '.' or '..' segments");
                                continue;
                            }
                            if (TargetPattern.TryCreate(pattern, out var error) is not { } glob)
                            {
                                Report(PolicyCodes.InvalidMcp, p.Pos, $"path glob '{p.Value}': {error}");
                                continue;
                            }
                            paths.Add(pattern);
                            patterns.Add(glob);
                        }
                        break;
                    case "values":
                        values.AddRange((v is YSequence ? Strings(v, "values") : Scalar(v, "values") is { } one2 ? [one2] : []).Select(x => x.Value));
                        break;
                    case "max_bytes":
                        if (Scalar(v, "max_bytes") is { } m)
                        {
                            if (long.TryParse(m.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) maxBytes = n;
                            else Report(PolicyCodes.InvalidLimit, m.Pos, $"max_bytes must be a positive whole number of bytes, not '{m.Value}'");
                        }
                        break;
                    default:
                        if (Scalar(v, "required") is { } r)
                        {
                            if (r.Value is "true" or "false") required = r.Value == "true";
                            else Report(PolicyCodes.InvalidMcp, r.Pos, "required must be true or false");
                        }
                        break;
                }
            }
            into[key.Value] = new McpArgumentRule(paths, values, maxBytes, required) { PathPatterns = patterns };
        }
    }

    // ---- small helpers, positions on every report (same conventions as GatewaySettingsReader) ----

    private List<Located> Strings(YNode node, string what)
    {
        var result = new List<Located>();
        if (node is not YSequence seq)
        {
            Report(PolicyCodes.InvalidType, node.Pos, $"{what} must be a list, not {node.Kind}");
            return result;
        }
        foreach (var item in seq.Items)
        {
            if (Scalar(item, $"an item of {what}") is { } s) result.Add(s);
        }
        return result;
    }
}
