using Writ.Core.Agents;

namespace Writ.Core.Policy;

/// <summary>One policy file as text. <see cref="Path"/> is only used to name the file in diagnostics and in the hash.</summary>
public sealed record PolicySource(string Path, string Text);

/// <summary>
/// One problem found while loading policy, with the position (1-based line and column) of the YAML node
/// that caused it so an editor or CI log can jump straight to it. <see cref="Code"/> is stable
/// (see <see cref="PolicyCodes"/>); the message is for humans.
/// </summary>
public sealed record PolicyDiagnostic(string Code, string Message, string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Code}: {Message}";
}

/// <summary>
/// The outcome of <see cref="PolicyLoader.Load"/>. When the YAML parsed, <see cref="Policy"/> holds a
/// best-effort model even if validation failed (useful for display); only a policy with
/// <see cref="IsValid"/> true may be compiled and applied.
/// </summary>
public sealed record PolicyLoadResult(PolicyModel? Policy, IReadOnlyList<PolicyDiagnostic> Diagnostics)
{
    public bool IsValid => Policy is not null && Diagnostics.Count == 0;
}

/// <summary>
/// The declared policy: environments, resources, roles and agents, each keyed by name (ordinal).
/// This is the validated shape of the YAML; <see cref="CompiledPolicy"/> turns it into lookup tables.
/// </summary>
public sealed record PolicyModel(
    IReadOnlyDictionary<string, EnvironmentDef> Environments,
    IReadOnlyDictionary<string, ResourceDef> Resources,
    IReadOnlyDictionary<string, RoleDef> Roles,
    IReadOnlyDictionary<string, AgentDef> Agents)
{
    /// <summary>A policy that declares nothing, so every request is denied (invariant 1: default deny).</summary>
    public static PolicyModel Empty { get; } = new(
        new Dictionary<string, EnvironmentDef>(StringComparer.Ordinal),
        new Dictionary<string, ResourceDef>(StringComparer.Ordinal),
        new Dictionary<string, RoleDef>(StringComparer.Ordinal),
        new Dictionary<string, AgentDef>(StringComparer.Ordinal));

    /// <summary>Named groups of human approvers (user names), for approval rules.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Groups { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
}

/// <summary>A named isolation boundary. A credential names exactly one (invariant 2).</summary>
public sealed record EnvironmentDef(string Name, string? Description);

/// <summary>
/// A protected system. It exists in one or more environments; <see cref="Backup"/> names the resource
/// holding its backups, which invariant 6 keeps out of reach of anyone who can delete this one.
/// </summary>
public sealed record ResourceDef(
    string Name,
    string? Description,
    IReadOnlyList<string> Actions,
    IReadOnlyDictionary<string, ResourceEnvironmentDef> Environments,
    string? Backup);

/// <summary>
/// The per-environment part of a resource. <see cref="Settings"/> keeps every key written under the
/// environment as raw values (string, null, <c>List&lt;object?&gt;</c> or <c>Dictionary&lt;string, object?&gt;</c>)
/// so that later features can read them without a format change. The gateway keys (<c>upstream</c>,
/// <c>credential</c>, <c>routes</c>, <c>limits</c>, <c>account</c>) are validated with positions and compiled into
/// <see cref="Gateway"/>; it is null when the resource has no upstream in this environment.
/// </summary>
public sealed record ResourceEnvironmentDef(string Environment, IReadOnlyDictionary<string, object?> Settings)
{
    public GatewayTarget? Gateway { get; init; }

    /// <summary>The MCP gateway's settings (the <c>mcp</c> key, docs/mcp.md); null when the resource is no MCP server here.</summary>
    public McpServerTarget? Mcp { get; init; }
}

/// <summary>
/// A named set of permissions. <see cref="Preapproved"/> lists the write/delete/admin actions that need no
/// human approval (invariant 5); <see cref="MaxTtl"/> caps credentials issued through this role;
/// <see cref="Targets"/>, when not empty, forces a request to name a target matching one of the globs.
/// </summary>
public sealed record RoleDef(
    string Name,
    string? Description,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Permissions,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Preapproved,
    IReadOnlyList<string> Restrictions,
    TimeSpan? MaxTtl,
    IReadOnlyList<string> Targets)
{
    /// <summary>Who decides the role's write approvals and elevations, per resource and action; the rest use <see cref="Approvals.ApprovalRule.Default"/>.</summary>
    public IReadOnlyList<ApprovalRuleDef> Approvals { get; init; } = [];

    /// <summary>Where the role is declared (null when built in code).</summary>
    public PolicyLocation? Location { get; init; }
}

/// <summary>A position in a policy file, kept on declarations that are checked again later (against the server's users).</summary>
public sealed record PolicyLocation(string File, int Line, int Column);

/// <summary>A role's approval rule for one resource and action, with approver groups expanded to user names.</summary>
public sealed record ApprovalRuleDef(string Resource, string Action, Approvals.ApprovalRule Rule, PolicyLocation Location);

/// <summary>A non-human identity <c>name@environment</c> with an accountable human owner.</summary>
public sealed record AgentDef(string Id, string Kind, string Owner, IReadOnlyList<string> Roles, string? Description)
{
    public string Name => AgentId.NameOf(Id);

    public string Environment => AgentId.EnvironmentOf(Id);
}

/// <summary>
/// The built-in actions and how each is treated. <c>read</c> is allowed by a grant; <c>write</c> and every
/// custom action (e.g. <c>send</c>) are write-class and need approval unless pre-approved; <c>delete</c> and
/// <c>admin</c> need a time-limited elevation unless pre-approved (invariant 5).
/// </summary>
public static class PolicyActions
{
    public const string Read = "read";
    public const string Write = "write";
    public const string Delete = "delete";
    public const string Admin = "admin";

    public static bool IsDeleteClass(string action) => action is Delete or Admin;

    public static bool IsWriteClass(string action) => action is not (Read or Delete or Admin);
}

/// <summary>
/// The restrictions a role may carry. <c>no-delete</c> is enforced by the evaluator (it blocks delete and
/// admin even when the role lists them); <c>no-bulk</c> and <c>no-cross-account</c> travel in the decision
/// and are enforced by the gateway.
/// </summary>
public static class PolicyRestrictions
{
    public const string NoDelete = "no-delete";
    public const string NoBulk = "no-bulk";
    public const string NoCrossAccount = "no-cross-account";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { NoDelete, NoBulk, NoCrossAccount };
}
