namespace Writ.Core.Policy;

/// <summary>
/// What an agent asks for: some actions on one resource in one environment, optionally on one target,
/// for a TTL. Everything in it is untrusted input; <see cref="CompiledPolicy.Evaluate"/> denies anything malformed.
/// </summary>
public sealed record AccessRequest(
    string AgentId,
    string Environment,
    string Resource,
    IReadOnlyList<string> Actions,
    string? Target,
    TimeSpan? RequestedTtl);

/// <summary>
/// Outcomes ordered from most to least permissive; combining actions takes the maximum, which is how
/// deny beats elevation-required beats approval-required beats allow.
/// </summary>
public enum DecisionKind
{
    Allow = 0,
    ApprovalRequired = 1,
    ElevationRequired = 2,
    Deny = 3,
}

/// <summary>
/// The policy engine's answer. <see cref="Code"/> is one of the closed set in <see cref="PolicyCodes"/>;
/// <see cref="Message"/> names agent, resource and action so a human can act on it. <see cref="Ttl"/> is the
/// lifetime a credential may have (zero on deny); <see cref="Restrictions"/> are the restrictions of the roles
/// that granted the actions, for the gateway to enforce.
/// </summary>
public sealed record Decision(DecisionKind Kind, string Code, string Message, TimeSpan Ttl, IReadOnlyList<string> Restrictions)
{
    public bool IsAllowed => Kind == DecisionKind.Allow;

    /// <summary>For approval-required and elevation-required: who may decide and on what terms (the strictest rule of the actions asked).</summary>
    public Approvals.ApprovalRule? Approval { get; init; }

    internal static Decision Deny(string code, string message) => new(DecisionKind.Deny, code, message, TimeSpan.Zero, []);
}
