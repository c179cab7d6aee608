using Writ.Core.Agents;

namespace Writ.Core.Policy;

/// <summary>
/// Cross-reference checks over all files' declarations and construction of the <see cref="PolicyModel"/>.
/// Reports every problem (never stops at the first) so an author fixes a policy in one pass. The first
/// declaration of a duplicated name wins in the model; the model is only trusted when no diagnostic was
/// reported.
/// </summary>
internal sealed partial class PolicyValidator(List<PolicyDiagnostic> diagnostics)
{
    private readonly Dictionary<string, EnvironmentDecl> _environments = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResourceDecl> _resources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RoleDecl> _roles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AgentDecl> _agents = new(StringComparer.Ordinal);

    public PolicyModel Validate(PolicyDecls decls)
    {
        Register(decls.Environments, e => e.Name, _environments, "environment");
        Register(decls.Resources, r => r.Name, _resources, "resource");
        Register(decls.Roles, r => r.Name, _roles, "role");
        Register(decls.Agents, a => a.Id, _agents, "agent");
        Register(decls.Groups, g => g.Name, _groups, "group");
        var groups = CheckGroups();

        foreach (var env in _environments.Values) CheckName(env.Name, "environment");

        var resources = new Dictionary<string, ResourceDef>(StringComparer.Ordinal);
        foreach (var res in _resources.Values) resources[res.Name.Value] = CheckResource(res);

        var roles = new Dictionary<string, RoleDef>(StringComparer.Ordinal);
        foreach (var role in _roles.Values) roles[role.Name.Value] = CheckRole(role);

        var agents = new Dictionary<string, AgentDef>(StringComparer.Ordinal);
        foreach (var agent in _agents.Values) agents[agent.Id.Value] = CheckAgent(agent, roles);

        var environments = _environments.Values.ToDictionary(e => e.Name.Value, e => new EnvironmentDef(e.Name.Value, e.Description), StringComparer.Ordinal);
        return new PolicyModel(environments, resources, roles, agents) { Groups = groups };
    }

    private void Register<T>(List<T> decls, Func<T, Located> name, Dictionary<string, T> into, string what)
    {
        foreach (var decl in decls)
        {
            var n = name(decl);
            if (into.TryGetValue(n.Value, out var first))
                Report(PolicyCodes.DuplicateName, n.Pos, $"{what} {n.Value} is declared twice: here and at {name(first).Pos}");
            else
                into[n.Value] = decl;
        }
    }

    private bool CheckName(Located name, string what)
    {
        if (AgentId.IsValidName(name.Value)) return true;
        Report(PolicyCodes.InvalidName, name.Pos,
            $"{what} name '{name.Value}' is invalid: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit (at most 100)");
        return false;
    }

    private ResourceDef CheckResource(ResourceDecl res)
    {
        CheckName(res.Name, "resource");
        if (res.ActionsWrittenEmpty)
            Report(PolicyCodes.MissingField, res.Name.Pos, $"resource {res.Name.Value} declares no actions");
        if (res.EnvironmentsWrittenEmpty)
            Report(PolicyCodes.MissingField, res.Name.Pos, $"resource {res.Name.Value} exists in no environment");
        foreach (var action in res.Actions) CheckName(action, "action");

        var envs = new Dictionary<string, ResourceEnvironmentDef>(StringComparer.Ordinal);
        foreach (var env in res.Environments)
        {
            if (!_environments.ContainsKey(env.Name.Value))
                Report(PolicyCodes.UnknownEnvironment, env.Name.Pos, $"resource {res.Name.Value} names environment {env.Name.Value}, which is not declared{Hint(env.Name.Value, _environments.Keys)}");
            var gateway = env.SettingsNode is { } node
                ? new GatewaySettingsReader(diagnostics).Read(res.Name.Value, env.Name.Value, res.Actions.Select(a => a.Value).ToHashSet(StringComparer.Ordinal), node)
                : null;
            var mcp = env.SettingsNode is { } mcpNode ? new McpSettingsReader(diagnostics).Read(res.Name.Value, env.Name.Value, res.Actions.Select(a => a.Value).ToHashSet(StringComparer.Ordinal), mcpNode) : null;
            envs.TryAdd(env.Name.Value, new ResourceEnvironmentDef(env.Name.Value, env.Settings) { Gateway = gateway, Mcp = mcp });
        }

        if (res.Backup is { } backup)
        {
            if (backup.Value == res.Name.Value)
                Report(PolicyCodes.BackupSelf, backup.Pos, $"resource {res.Name.Value} cannot be its own backup");
            else if (!_resources.ContainsKey(backup.Value))
                Report(PolicyCodes.UnknownResource, backup.Pos, $"backup of {res.Name.Value} names resource {backup.Value}, which is not declared{Hint(backup.Value, _resources.Keys)}");
        }

        return new ResourceDef(res.Name.Value, res.Description, res.Actions.Select(a => a.Value).ToArray(), envs, res.Backup?.Value);
    }

    private RoleDef CheckRole(RoleDecl role)
    {
        CheckName(role.Name, "role");
        var permissions = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var grant in role.Permissions)
        {
            if (!_resources.TryGetValue(grant.Resource.Value, out var res))
            {
                Report(PolicyCodes.UnknownResource, grant.Resource.Pos, $"role {role.Name.Value} grants resource {grant.Resource.Value}, which is not declared{Hint(grant.Resource.Value, _resources.Keys)}");
            }
            else
            {
                foreach (var action in grant.Actions)
                {
                    if (!res.Actions.Exists(a => a.Value == action.Value))
                        Report(PolicyCodes.UnknownAction, action.Pos,
                            $"role {role.Name.Value} grants {grant.Resource.Value}:{action.Value}, but {grant.Resource.Value} has no action '{action.Value}' (it has {string.Join(", ", res.Actions.Select(a => a.Value))})");
                }
            }
            permissions[grant.Resource.Value] = grant.Actions.Select(a => a.Value).ToArray();
        }

        var preapproved = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var grant in role.Preapproved)
        {
            var granted = role.Permissions.Find(p => p.Resource.Value == grant.Resource.Value);
            foreach (var action in grant.Actions)
            {
                if (granted is null || !granted.Actions.Exists(a => a.Value == action.Value))
                    Report(PolicyCodes.PreapprovedNotPermitted, action.Pos,
                        $"role {role.Name.Value} pre-approves {grant.Resource.Value}:{action.Value} but its permissions do not grant it");
            }
            preapproved[grant.Resource.Value] = grant.Actions.Select(a => a.Value).ToArray();
        }

        foreach (var restriction in role.Restrictions)
        {
            if (!PolicyRestrictions.All.Contains(restriction.Value))
                Report(PolicyCodes.UnknownRestriction, restriction.Pos,
                    $"unknown restriction '{restriction.Value}'{Hint(restriction.Value, PolicyRestrictions.All)}; known: {string.Join(", ", PolicyRestrictions.All.Order(StringComparer.Ordinal))}");
        }

        TimeSpan? maxTtl = null;
        if (role.MaxTtlText is { } ttlText)
        {
            if (!Ttl.TryParse(ttlText.Value, out var ttl) || ttl <= TimeSpan.Zero)
                Report(PolicyCodes.InvalidTtl, ttlText.Pos, $"max_ttl '{ttlText.Value}' of role {role.Name.Value} is not a positive duration like 90s, 15m, 2h or 1h30m");
            else if (ttl > CompiledPolicy.HardCap)
                Report(PolicyCodes.TtlOverCap, ttlText.Pos, $"max_ttl {ttlText.Value} of role {role.Name.Value} is over the hard cap of 8h");
            else
                maxTtl = ttl;
        }

        foreach (var target in role.Targets)
        {
            if (TargetPattern.TryCreate(target.Value, out var error) is null)
                Report(PolicyCodes.InvalidTarget, target.Pos, $"target '{target.Value}' of role {role.Name.Value}: {error}");
        }

        return new RoleDef(role.Name.Value, role.Description, permissions, preapproved,
            role.Restrictions.Select(r => r.Value).ToArray(), maxTtl, role.Targets.Select(t => t.Value).ToArray())
        {
            Approvals = CheckApprovals(role, permissions, preapproved, maxTtl),
            Location = new PolicyLocation(role.Name.Pos.File, role.Name.Pos.Line, role.Name.Pos.Column),
        };
    }

    private AgentDef CheckAgent(AgentDecl agent, Dictionary<string, RoleDef> roles)
    {
        var id = agent.Id;
        string? environment = null;
        if (!AgentId.IsValid(id.Value))
        {
            Report(PolicyCodes.InvalidAgentId, id.Pos,
                $"agent id '{id.Value}' must be name@environment (lower-case letters, digits, '-', '_', '.'), e.g. coding-agent@staging");
        }
        else
        {
            environment = AgentId.EnvironmentOf(id.Value);
            if (!_environments.ContainsKey(environment))
            {
                Report(PolicyCodes.UnknownEnvironment, id.Pos, $"agent {id.Value} is in environment {environment}, which is not declared{Hint(environment, _environments.Keys)}");
                environment = null;
            }
        }

        if (agent.Kind is not { } kind)
            Report(PolicyCodes.MissingField, id.Pos, $"agent {id.Value} needs 'kind' ({string.Join(", ", AgentKinds.All.Order(StringComparer.Ordinal))})");
        else if (!AgentKinds.All.Contains(kind.Value))
            Report(PolicyCodes.UnknownKind, kind.Pos, $"agent {id.Value} has unknown kind '{kind.Value}'; use {string.Join(", ", AgentKinds.All.Order(StringComparer.Ordinal))}");

        if (agent.Owner is not { } owner || string.IsNullOrWhiteSpace(owner.Value))
            Report(PolicyCodes.MissingOwner, agent.Owner?.Pos ?? id.Pos, $"agent {id.Value} needs an 'owner': the human accountable for it");
        else if (!Humans.UserNames.IsPerson(owner.Value))
            Report(PolicyCodes.InvalidOwner, owner.Pos,
                $"owner of {id.Value} must be a user name or an e-mail address (letters, digits, '.', '_', '-', '+', '@'), so approvals can tell the owner apart");

        // resource -> the first role (and its position in this agent's list) that can delete or admin it, for invariant 6.
        var deleters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var roleRef in agent.Roles)
        {
            if (!roles.TryGetValue(roleRef.Value, out var role))
            {
                Report(PolicyCodes.UnknownRole, roleRef.Pos, $"agent {id.Value} has role {roleRef.Value}, which is not declared{Hint(roleRef.Value, roles.Keys)}");
                continue;
            }

            var noDelete = role.Restrictions.Contains(PolicyRestrictions.NoDelete);
            foreach (var (resource, actions) in role.Permissions)
            {
                if (!_resources.TryGetValue(resource, out var res)) continue; // reported at the role
                if (environment is not null && !res.Environments.Exists(e => e.Name.Value == environment))
                {
                    Report(PolicyCodes.ResourceNotInEnvironment, roleRef.Pos,
                        $"role {role.Name} gives {id.Value} resource {resource}, which does not exist in {environment} (it exists in {string.Join(", ", res.Environments.Select(e => e.Name.Value))})");
                }
                if (!noDelete && actions.Any(PolicyActions.IsDeleteClass)) deleters.TryAdd(resource, role.Name);
            }
        }

        // Invariant 6: nobody may be able to destroy a resource and its backup.
        foreach (var (resource, role) in deleters)
        {
            var backup = _resources[resource].Backup?.Value;
            if (backup is null || backup == resource || !deleters.TryGetValue(backup, out var backupRole)) continue;
            Report(PolicyCodes.BackupConflict, id.Pos,
                $"agent {id.Value} could delete both {resource} (through role {role}) and its backup {backup} (through role {backupRole}); backup authority must be held by a different identity");
        }

        return new AgentDef(id.Value, agent.Kind?.Value ?? "", agent.Owner?.Value ?? "", agent.Roles.Select(r => r.Value).ToArray(), agent.Description);
    }

    private static string Hint(string value, IEnumerable<string> candidates) =>
        PolicyReader.Suggest(value, candidates) is { } hint ? $" (did you mean {hint}?)" : "";

    private void Report(string code, SourcePos pos, string message) =>
        diagnostics.Add(new PolicyDiagnostic(code, message, pos.File, pos.Line, pos.Column));
}
