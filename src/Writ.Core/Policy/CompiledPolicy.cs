using Writ.Core.Approvals;
using System.Text;
using Writ.Core.Agents;

namespace Writ.Core.Policy;

/// <summary>
/// A policy version compiled into lookup tables: agent → resource → action → the grant options in order of
/// permissiveness. <see cref="Evaluate"/> is then a pure function of the request (no I/O, no clock) costing a
/// few dictionary hits; the common single-action outcomes are precomputed <see cref="Decision"/> objects, so an
/// allow allocates nothing. Immutable and safe to share between threads.
/// </summary>
public sealed class CompiledPolicy
{
    /// <summary>Credential lifetime when the request names none (invariant 1).</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromMinutes(5);

    /// <summary>No credential outlives this, whatever policy or request say (invariant 1).</summary>
    public static readonly TimeSpan HardCap = TimeSpan.FromHours(8);

    private readonly Dictionary<string, AgentTable> _agents;
    private readonly Dictionary<string, ResourceInfo> _resources;

    private CompiledPolicy(PolicyModel model, int version, string sha256, Dictionary<string, AgentTable> agents, Dictionary<string, ResourceInfo> resources)
    {
        Model = model;
        Version = version;
        Sha256 = sha256;
        _agents = agents;
        _resources = resources;
    }

    public int Version { get; }

    public string Sha256 { get; }

    public PolicyModel Model { get; }

    /// <summary>
    /// Builds the lookup tables. Expects a model that <see cref="PolicyLoader.Load(IReadOnlyList{PolicySource})"/>
    /// found valid; given anything else it stays safe: references to undeclared roles, resources, actions or
    /// environments simply grant nothing (default deny).
    /// </summary>
    public static CompiledPolicy Compile(PolicyModel model, int version, string sha256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sha256);

        var resources = new Dictionary<string, ResourceInfo>(StringComparer.Ordinal);
        foreach (var (name, res) in model.Resources)
            resources[name] = new ResourceInfo(new HashSet<string>(res.Environments.Keys, StringComparer.Ordinal), new HashSet<string>(res.Actions, StringComparer.Ordinal));

        var roles = new Dictionary<string, CompiledRole>(StringComparer.Ordinal);
        foreach (var (name, role) in model.Roles)
        {
            var maxTtl = role.MaxTtl is { } t && t > TimeSpan.Zero && t < HardCap ? t : HardCap;
            var targets = new List<TargetPattern>();
            var targetsOk = true;
            foreach (var text in role.Targets)
            {
                if (TargetPattern.TryCreate(text, out _) is { } pattern) targets.Add(pattern);
                else targetsOk = false;
            }
            // A role whose target list cannot be honoured must not turn into "any target": it grants nothing.
            if (!targetsOk) continue;
            var restrictions = role.Restrictions.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var approvals = role.Approvals.ToDictionary(a => a.Resource + ":" + a.Action, a => a.Rule, StringComparer.Ordinal);
            roles[name] = new CompiledRole(role, maxTtl, restrictions, targets.ToArray(), approvals);
        }

        var agents = new Dictionary<string, AgentTable>(StringComparer.Ordinal);
        foreach (var (id, agent) in model.Agents)
        {
            if (!AgentId.IsValid(id) || agent.Id != id) continue;
            var environment = AgentId.EnvironmentOf(id);
            if (!model.Environments.ContainsKey(environment)) continue;
            agents[id] = CompileAgent(id, environment, agent, roles, resources);
        }

        return new CompiledPolicy(model, version, sha256, agents, resources);
    }

    private static AgentTable CompileAgent(string id, string environment, AgentDef agent, Dictionary<string, CompiledRole> roles, Dictionary<string, ResourceInfo> resources)
    {
        // resource -> action -> (options, restricting role)
        var building = new Dictionary<string, Dictionary<string, (List<(Grant Grant, int Order)> Options, string? BlockedBy)>>(StringComparer.Ordinal);
        var order = 0;
        foreach (var roleName in agent.Roles.Distinct(StringComparer.Ordinal))
        {
            order++;
            if (!roles.TryGetValue(roleName, out var role)) continue;
            var noDelete = role.Restrictions.Contains(PolicyRestrictions.NoDelete);
            foreach (var (resource, actions) in role.Def.Permissions)
            {
                if (!resources.TryGetValue(resource, out var info) || !info.Environments.Contains(environment)) continue;
                role.Def.Preapproved.TryGetValue(resource, out var preapproved);
                if (!building.TryGetValue(resource, out var byAction))
                    building[resource] = byAction = new Dictionary<string, (List<(Grant, int)>, string?)>(StringComparer.Ordinal);
                foreach (var action in actions.Distinct(StringComparer.Ordinal))
                {
                    if (!info.Actions.Contains(action)) continue;
                    if (!byAction.TryGetValue(action, out var entry)) entry = ([], null);
                    if (noDelete && PolicyActions.IsDeleteClass(action))
                    {
                        entry.BlockedBy ??= role.Def.Name;
                    }
                    else
                    {
                        var pre = preapproved?.Contains(action) == true;
                        var level = action == PolicyActions.Read || pre ? DecisionKind.Allow
                            : PolicyActions.IsDeleteClass(action) ? DecisionKind.ElevationRequired
                            : DecisionKind.ApprovalRequired;
                        var rule = level == DecisionKind.Allow ? null : role.ApprovalRuleFor(resource, action);
                        entry.Options.Add((new Grant(level, role, SingleActionDecision(id, resource, action, level, role) with { Approval = rule }, rule), order));
                    }
                    byAction[action] = entry;
                }
            }
        }

        var table = new Dictionary<string, Dictionary<string, ActionGrants>>(StringComparer.Ordinal);
        foreach (var (resource, byAction) in building)
        {
            var compiled = new Dictionary<string, ActionGrants>(StringComparer.Ordinal);
            foreach (var (action, (options, blockedBy)) in byAction)
            {
                // Most permissive first; among equals the longest TTL, then the agent's own role order.
                var sorted = options
                    .OrderBy(o => o.Grant.Level)
                    .ThenByDescending(o => o.Grant.Role.MaxTtl)
                    .ThenBy(o => o.Order)
                    .Select(o => o.Grant)
                    .ToArray();
                compiled[action] = new ActionGrants(sorted, blockedBy);
            }
            table[resource] = compiled;
        }
        return new AgentTable(id, environment, table);
    }

    private static Decision SingleActionDecision(string agentId, string resource, string action, DecisionKind level, CompiledRole role)
    {
        var ttl = Min(DefaultTtl, role.MaxTtl);
        var (code, message) = level switch
        {
            DecisionKind.Allow => (PolicyCodes.Allow, $"{agentId} may {action} {resource} (role {role.Def.Name})"),
            DecisionKind.ApprovalRequired => (PolicyCodes.ApprovalRequired,
                $"{agentId} needs a justification and a human approval to {action} {resource} (role {role.Def.Name} does not pre-approve it)"),
            _ => (PolicyCodes.ElevationRequired,
                $"{agentId} needs a time-limited elevation approved by a human to {action} {resource} (role {role.Def.Name} does not pre-approve it)"),
        };
        return new Decision(level, code, message, ttl, role.Restrictions);
    }

    /// <summary>
    /// Decides <paramref name="request"/>: default deny; anything unknown or malformed denies; across the
    /// requested actions deny beats elevation-required beats approval-required beats allow. Pure: the same
    /// policy and request always give the same decision.
    /// </summary>
    public Decision Evaluate(AccessRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);

        if (request.AgentId is null || !_agents.TryGetValue(request.AgentId, out var agent))
            return Decision.Deny(PolicyCodes.UnknownAgent,
                AgentId.IsValid(request.AgentId) ? $"{request.AgentId} is not an agent in policy version {Version}" : "the agent id is not a valid name@environment");

        if (!string.Equals(request.Environment, agent.Environment, StringComparison.Ordinal))
            return Decision.Deny(PolicyCodes.EnvironmentMismatch, $"{agent.Id} cannot act in {Name(request.Environment)}");

        if (request.Actions is null || request.Actions.Count == 0)
            return Decision.Deny(PolicyCodes.InvalidRequest, $"the request of {agent.Id} for {Name(request.Resource)} names no action");
        if (request.RequestedTtl is { } requested && requested <= TimeSpan.Zero)
            return Decision.Deny(PolicyCodes.InvalidRequest, $"the request of {agent.Id} for {Name(request.Resource)} asks for a TTL that is not positive");
        if (request.Target is { } target && !TargetPattern.IsValidTarget(target))
            return Decision.Deny(PolicyCodes.InvalidRequest,
                $"the target in the request of {agent.Id} for {Name(request.Resource)} must be one concrete name: no '*', spaces, empty, '.' or '..' segments, at most {TargetPattern.MaxTargetLength} characters");

        if (request.Resource is null || !_resources.TryGetValue(request.Resource, out var resource))
            return Decision.Deny(PolicyCodes.UnknownResource, $"{agent.Id} asked for {Name(request.Resource)}, which is not a resource in policy version {Version}");
        if (!resource.Environments.Contains(agent.Environment))
            return Decision.Deny(PolicyCodes.ResourceNotInEnvironment, $"{request.Resource} does not exist in {agent.Environment}, so {agent.Id} cannot use it");

        agent.Resources.TryGetValue(request.Resource, out var grants);

        if (request.Actions.Count == 1)
        {
            var result = Resolve(agent, request.Resource, resource, grants, request.Actions[0], request.Target, out var grant);
            if (result is not null) return result;
            var ttl = GrantedTtl(request.RequestedTtl, grant!.Role.MaxTtl);
            return ttl == grant.Decision.Ttl ? grant.Decision : grant.Decision with { Ttl = ttl };
        }

        var chosen = new Grant[request.Actions.Count];
        for (var i = 0; i < chosen.Length; i++)
        {
            var result = Resolve(agent, request.Resource, resource, grants, request.Actions[i], request.Target, out var grant);
            if (result is not null) return result;
            chosen[i] = grant!;
        }
        return Combine(agent, request, chosen);
    }

    /// <summary>Picks the grant for one action, or returns the deny that applies to it.</summary>
    private static Decision? Resolve(AgentTable agent, string resourceName, ResourceInfo resource, Dictionary<string, ActionGrants>? grants,
        string? action, string? target, out Grant? chosen)
    {
        chosen = null;
        if (action is null || !resource.Actions.Contains(action))
            return Decision.Deny(PolicyCodes.UnknownAction, $"{resourceName} has no action {Name(action)} (asked by {agent.Id})");

        ActionGrants? entry = null;
        if (grants is null || !grants.TryGetValue(action, out entry) || entry.Options.Length == 0)
        {
            if (entry?.BlockedBy is { } role)
                return Decision.Deny(PolicyCodes.Restricted, $"{resourceName}:{action} is forbidden for {agent.Id} by restriction {PolicyRestrictions.NoDelete} of role {role}");
            return Decision.Deny(PolicyCodes.ActionNotGranted, $"no role of {agent.Id} grants {resourceName}:{action}");
        }

        var sawTargeted = false;
        foreach (var option in entry.Options)
        {
            var patterns = option.Role.Targets;
            if (patterns.Length == 0)
            {
                chosen = option;
                return null;
            }
            sawTargeted = true;
            if (target is null) continue;
            foreach (var pattern in patterns)
            {
                if (pattern.IsMatch(target))
                {
                    chosen = option;
                    return null;
                }
            }
        }

        var allowed = string.Join(", ", entry.Options.SelectMany(o => o.Role.Targets).Select(p => p.Text).Distinct(StringComparer.Ordinal));
        return target is null && sawTargeted
            ? Decision.Deny(PolicyCodes.TargetRequired, $"{agent.Id} must name a target for {resourceName}:{action} (allowed: {allowed})")
            : Decision.Deny(PolicyCodes.TargetNotAllowed, $"target {target} is not allowed for {agent.Id} on {resourceName}:{action} (allowed: {allowed})");
    }

    private static Decision Combine(AgentTable agent, AccessRequest request, Grant[] chosen)
    {
        var level = DecisionKind.Allow;
        var maxTtl = HardCap;
        var sameRole = true;
        foreach (var grant in chosen)
        {
            if (grant.Level > level) level = grant.Level;
            maxTtl = Min(maxTtl, grant.Role.MaxTtl);
            sameRole &= ReferenceEquals(grant.Role, chosen[0].Role);
        }

        // The common case is one role granting every action: reuse its sorted restrictions, no set needed.
        string[] restrictions;
        string roles;
        if (sameRole)
        {
            restrictions = chosen[0].Role.Restrictions;
            roles = "role " + chosen[0].Role.Def.Name;
        }
        else
        {
            restrictions = chosen.SelectMany(g => g.Role.Restrictions).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            roles = "roles " + string.Join(", ", chosen.Select(g => g.Role.Def.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        }

        // Name the actions that need the human step (all of them, whatever their level), so the approver sees what they approve.
        var actions = new StringBuilder();
        for (var i = 0; i < chosen.Length; i++)
        {
            if (level == DecisionKind.Allow ? chosen[i].Level != level : chosen[i].Level == DecisionKind.Allow) continue;
            if (actions.Length > 0) actions.Append(", ");
            actions.Append(request.Actions[i]);
        }
        var (code, message) = level switch
        {
            DecisionKind.Allow => (PolicyCodes.Allow, $"{agent.Id} may {actions} {request.Resource} ({roles})"),
            DecisionKind.ApprovalRequired => (PolicyCodes.ApprovalRequired,
                $"{agent.Id} needs a justification and a human approval to {actions} {request.Resource} ({roles} does not pre-approve it)"),
            _ => (PolicyCodes.ElevationRequired,
                $"{agent.Id} needs a time-limited elevation approved by a human to {actions} {request.Resource} ({roles} does not pre-approve it)"),
        };
        // Every action that needs a human brings its rule: asking for write and delete at once must satisfy both.
        var approval = level == DecisionKind.Allow ? null : ApprovalRule.Strictest(chosen.Where(g => g.Level != DecisionKind.Allow).Select(g => g.Approval!));
        if (level == DecisionKind.ElevationRequired)
        {
            // The window and the owner setting belong to the elevation's rules; a write rule has neither.
            var elevations = chosen.Where(g => g.Level == DecisionKind.ElevationRequired).Select(g => g.Approval!).ToArray();
            approval = approval! with { MaxWindow = elevations.Min(r => r.MaxWindow), OwnerMayApprove = elevations.All(r => r.OwnerMayApprove) };
        }
        return new Decision(level, code, message, GrantedTtl(request.RequestedTtl, maxTtl), restrictions) { Approval = approval };
    }

    /// <summary>min(requested or the 5-minute default, the granting roles' max_ttl, 8 h). A long request is capped, never denied.</summary>
    private static TimeSpan GrantedTtl(TimeSpan? requested, TimeSpan roleMax) => Min(Min(requested ?? DefaultTtl, roleMax), HardCap);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Echo a name from the request only if it is a well-formed name; never reflect arbitrary input into messages and logs.</summary>
    private static string Name(string? value) => value is not null && AgentId.IsValidName(value) ? value : "(malformed name)";

    private sealed record ResourceInfo(HashSet<string> Environments, HashSet<string> Actions);

    private sealed record CompiledRole(RoleDef Def, TimeSpan MaxTtl, string[] Restrictions, TargetPattern[] Targets, Dictionary<string, ApprovalRule> Approvals)
    {
        /// <summary>The role's rule for this resource and action, or the default one (any approver; grants up to the role's max TTL).</summary>
        public ApprovalRule ApprovalRuleFor(string resource, string action) =>
            Approvals.TryGetValue(resource + ":" + action, out var rule) ? rule : ApprovalRule.Default(MaxTtl);
    }

    /// <summary>One way an agent holds an action: the role, what it still needs, and the precomputed single-action decision.</summary>
    private sealed record Grant(DecisionKind Level, CompiledRole Role, Decision Decision, ApprovalRule? Approval);

    private sealed record ActionGrants(Grant[] Options, string? BlockedBy);

    private sealed record AgentTable(string Id, string Environment, Dictionary<string, Dictionary<string, ActionGrants>> Resources);
}
