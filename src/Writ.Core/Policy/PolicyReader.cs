namespace Writ.Core.Policy;

/// <summary>A string read from YAML with the position it came from.</summary>
internal readonly record struct Located(string Value, SourcePos Pos);

internal sealed class EnvironmentDecl(Located name)
{
    public Located Name { get; } = name;
    public string? Description { get; set; }
}

internal sealed class ResourceEnvironmentDecl(Located name, IReadOnlyDictionary<string, object?> settings, YMapping? settingsNode = null)
{
    public Located Name { get; } = name;
    public IReadOnlyDictionary<string, object?> Settings { get; } = settings;

    /// <summary>The settings as written, so the gateway keys can be validated with positions.</summary>
    public YMapping? SettingsNode { get; } = settingsNode;
}

internal sealed class ResourceDecl(Located name)
{
    public Located Name { get; } = name;
    public string? Description { get; set; }
    public List<Located> Actions { get; } = [];
    public List<ResourceEnvironmentDecl> Environments { get; } = [];
    public Located? Backup { get; set; }

    /// <summary>Set for a literal <c>[]</c>/<c>{}</c>, so an empty list is reported while a missing key or a wrong type is not reported twice.</summary>
    public bool ActionsWrittenEmpty { get; set; }

    public bool EnvironmentsWrittenEmpty { get; set; }
}

/// <summary><c>resource: [actions]</c> inside a role's permissions or preapproved map.</summary>
internal sealed class GrantDecl(Located resource)
{
    public Located Resource { get; } = resource;
    public List<Located> Actions { get; } = [];
}

internal sealed class RoleDecl(Located name)
{
    public Located Name { get; } = name;
    public string? Description { get; set; }
    public List<GrantDecl> Permissions { get; } = [];
    public List<GrantDecl> Preapproved { get; } = [];
    public List<Located> Restrictions { get; } = [];
    public Located? MaxTtlText { get; set; }
    public List<Located> Targets { get; } = [];
    public List<ApprovalRuleDecl> Approvals { get; } = [];
}

internal sealed class AgentDecl(Located id)
{
    public Located Id { get; } = id;
    public Located? Kind { get; set; }
    public Located? Owner { get; set; }
    public List<Located> Roles { get; } = [];
    public string? Description { get; set; }
}

/// <summary>Everything declared across all files, in file order, before cross-reference checks.</summary>
internal sealed class PolicyDecls
{
    public List<EnvironmentDecl> Environments { get; } = [];
    public List<ResourceDecl> Resources { get; } = [];
    public List<RoleDecl> Roles { get; } = [];
    public List<AgentDecl> Agents { get; } = [];
    public List<GroupDecl> Groups { get; } = [];
}

/// <summary>
/// Turns YAML trees into declarations, checking shape only: node types, unknown keys (typo protection),
/// duplicate keys and duplicate list entries. Cross-references are <see cref="PolicyValidator"/>'s job.
/// </summary>
internal sealed partial class PolicyReader(List<PolicyDiagnostic> diagnostics) : YamlSectionReader(diagnostics)
{
    private static readonly string[] TopKeys = ["environments", "resources", "roles", "agents", "groups"];
    private static readonly string[] EnvironmentKeys = ["description"];
    private static readonly string[] ResourceKeys = ["description", "actions", "environments", "backup"];
    private static readonly string[] RoleKeys = ["description", "permissions", "preapproved", "restrictions", "max_ttl", "targets", "approvals"];
    private static readonly string[] AgentKeys = ["kind", "owner", "roles", "description"];

    private readonly Dictionary<YNode, object?> _rawCache = new(ReferenceEqualityComparer.Instance);

    public PolicyDecls Decls { get; } = new();

    public void ReadDocument(YNode root)
    {
        if (Map(root, "a policy document", allowNull: true) is not { } top) return;
        foreach (var (key, value) in Fields(top, "the top level", TopKeys))
        {
            switch (key.Value)
            {
                case "environments": ReadEnvironments(value); break;
                case "resources": ReadNamed(value, "resources", ReadResource); break;
                case "roles": ReadNamed(value, "roles", ReadRole); break;
                case "agents": ReadNamed(value, "agents", ReadAgent); break;
                case "groups": ReadNamed(value, "groups", ReadGroup); break;
            }
        }
    }

    private void ReadEnvironments(YNode node)
    {
        if (node is YSequence seq)
        {
            foreach (var name in Strings(seq, "environments"))
                Decls.Environments.Add(new EnvironmentDecl(name));
            return;
        }

        ReadNamed(node, "environments", (name, body) =>
        {
            var env = new EnvironmentDecl(name);
            if (Map(body, $"environment {name.Value}", allowNull: true) is { } map)
            {
                foreach (var (_, value) in Fields(map, $"environment {name.Value}", EnvironmentKeys))
                    env.Description = String(value, "description");
            }
            Decls.Environments.Add(env);
        });
    }

    private void ReadResource(Located name, YNode body)
    {
        var res = new ResourceDecl(name);
        Decls.Resources.Add(res);
        if (Map(body, $"resource {name.Value}") is not { } map) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in Fields(map, $"resource {name.Value}", ResourceKeys))
        {
            seen.Add(key.Value);
            switch (key.Value)
            {
                case "description": res.Description = String(value, "description"); break;
                case "actions": res.ActionsWrittenEmpty = value is YSequence { Items.Count: 0 }; res.Actions.AddRange(Strings(value, "actions")); break;
                case "backup": res.Backup = Scalar(value, "backup"); break;
                case "environments": res.EnvironmentsWrittenEmpty = value is YSequence { Items.Count: 0 } or YMapping { Entries.Count: 0 }; ReadResourceEnvironments(res, value); break;
            }
        }
        RequireField(seen, "actions", map.Pos, $"resource {name.Value} needs 'actions' (e.g. [read, write])");
        RequireField(seen, "environments", map.Pos, $"resource {name.Value} needs 'environments' (the environments it exists in)");
    }

    private void ReadResourceEnvironments(ResourceDecl res, YNode node)
    {
        if (node is YSequence seq)
        {
            foreach (var env in Strings(seq, "environments"))
                res.Environments.Add(new ResourceEnvironmentDecl(env, EmptySettings));
            return;
        }

        if (Map(node, "environments (a list of names or a map of name -> settings)") is not { } map) return;
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Entries)
        {
            if (Key(keyNode) is not { } key) continue;
            if (seen.TryGetValue(key.Value, out var first))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"environment {key.Value} is listed twice (first at {first})");
                continue;
            }
            seen[key.Value] = key.Pos;
            IReadOnlyDictionary<string, object?> settings = EmptySettings;
            var settingsMap = Map(value, $"settings of {res.Name.Value} in {key.Value}", allowNull: true);
            if (settingsMap is not null)
                settings = (IReadOnlyDictionary<string, object?>)Raw(settingsMap)!;
            res.Environments.Add(new ResourceEnvironmentDecl(key, settings, settingsMap));
        }
    }

    private void ReadRole(Located name, YNode body)
    {
        var role = new RoleDecl(name);
        Decls.Roles.Add(role);
        if (Map(body, $"role {name.Value}") is not { } map) return;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in Fields(map, $"role {name.Value}", RoleKeys))
        {
            seen.Add(key.Value);
            switch (key.Value)
            {
                case "description": role.Description = String(value, "description"); break;
                case "permissions": ReadGrants(value, "permissions", role.Permissions); break;
                case "preapproved": ReadGrants(value, "preapproved", role.Preapproved); break;
                case "restrictions": role.Restrictions.AddRange(Strings(value, "restrictions")); break;
                case "max_ttl": role.MaxTtlText = Scalar(value, "max_ttl"); break;
                case "targets": role.Targets.AddRange(Strings(value, "targets")); break;
                case "approvals": ReadApprovals(role, value); break;
            }
        }
        RequireField(seen, "permissions", map.Pos, $"role {name.Value} needs 'permissions' (resource: [actions])");
    }

    private void ReadGrants(YNode node, string what, List<GrantDecl> into)
    {
        if (Map(node, $"{what} (a map of resource -> [actions])") is not { } map) return;
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Entries)
        {
            if (Key(keyNode) is not { } key) continue;
            if (seen.TryGetValue(key.Value, out var first))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"resource {key.Value} appears twice in {what} (first at {first})");
                continue;
            }
            seen[key.Value] = key.Pos;
            var grant = new GrantDecl(key);
            grant.Actions.AddRange(Strings(value, $"actions of {key.Value}"));
            into.Add(grant);
        }
    }

    private void ReadAgent(Located id, YNode body)
    {
        var agent = new AgentDecl(id);
        Decls.Agents.Add(agent);
        if (Map(body, $"agent {id.Value}") is not { } map) return;
        foreach (var (key, value) in Fields(map, $"agent {id.Value}", AgentKeys))
        {
            switch (key.Value)
            {
                case "kind": agent.Kind = Scalar(value, "kind"); break;
                case "owner": agent.Owner = Scalar(value, "owner"); break;
                case "roles": agent.Roles.AddRange(Strings(value, "roles")); break;
                case "description": agent.Description = String(value, "description"); break;
            }
        }
    }

    /// <summary>A map of name -> body. Duplicate names (here or in other files) are reported by the validator with both positions.</summary>
    private void ReadNamed(YNode node, string what, Action<Located, YNode> read)
    {
        // An empty section (`agents:` with nothing under it) is allowed: files are often written a section at a time.
        if (Map(node, what, allowNull: true) is not { } map) return;
        foreach (var (keyNode, value) in map.Entries)
        {
            if (Key(keyNode) is { } key) read(key, value);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static readonly IReadOnlyDictionary<string, object?> EmptySettings = new Dictionary<string, object?>(StringComparer.Ordinal);

    private void RequireField(HashSet<string> seen, string field, SourcePos pos, string message)
    {
        if (!seen.Contains(field)) Report(PolicyCodes.MissingField, pos, message);
    }

    private YMapping? Map(YNode node, string what, bool allowNull = false)
    {
        switch (node)
        {
            case YMapping map:
                return map;
            case YScalar { IsNull: true } when allowNull:
                return new YMapping(node.Pos);
            default:
                Report(PolicyCodes.InvalidType, node.Pos, $"{what} must be a map, not {node.Kind}");
                return null;
        }
    }

    private Located? Key(YNode node)
    {
        if (node is YScalar { IsNull: false } s) return new Located(s.Value, s.Pos);
        Report(PolicyCodes.InvalidType, node.Pos, $"a key must be a plain name, not {node.Kind}");
        return null;
    }

    private string? String(YNode node, string what) => Scalar(node, what)?.Value;

    /// <summary>A list of scalars; duplicate entries are reported once each and dropped.</summary>
    private List<Located> Strings(YNode node, string what)
    {
        var result = new List<Located>();
        if (node is not YSequence seq)
        {
            Report(PolicyCodes.InvalidType, node.Pos, $"{what} must be a list (e.g. [a, b]), not {node.Kind}");
            return result;
        }
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var item in seq.Items)
        {
            if (item is not YScalar { IsNull: false } s)
            {
                Report(PolicyCodes.InvalidType, item.Pos, $"each entry of {what} must be a single value, not {item.Kind}");
                continue;
            }
            if (seen.TryGetValue(s.Value, out var first))
            {
                Report(PolicyCodes.DuplicateEntry, s.Pos, $"'{s.Value}' is listed twice in {what} (first at {first})");
                continue;
            }
            seen[s.Value] = s.Pos;
            result.Add(new Located(s.Value, s.Pos));
        }
        return result;
    }

    /// <summary>Plain .NET values for settings kept verbatim; memoized per node so shared (aliased) nodes are converted once.</summary>
    private object? Raw(YNode node)
    {
        if (_rawCache.TryGetValue(node, out var cached)) return cached;
        object? result;
        switch (node)
        {
            case YScalar s:
                result = s.IsNull ? null : s.Value;
                break;
            case YSequence seq:
                result = seq.Items.Select(Raw).ToList();
                break;
            default:
                var map = (YMapping)node;
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (keyNode, value) in map.Entries)
                {
                    if (Key(keyNode) is not { } key) continue;
                    if (!dict.TryAdd(key.Value, Raw(value)))
                        Report(PolicyCodes.DuplicateKey, key.Pos, $"key '{key.Value}' appears twice");
                }
                result = dict;
                break;
        }
        _rawCache[node] = result;
        return result;
    }


    /// <summary>The closest allowed key within edit distance 2, to turn "premissions" into a helpful hint.</summary>
    internal static string? Suggest(string value, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in candidates)
        {
            var d = Distance(value, candidate);
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }
        return best;
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return int.MaxValue;
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
