using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Approvals;

/// <summary>
/// <c>approval</c>: a write-class request a human lets through once. <c>elevation</c>: a delete/admin request a
/// human lets through for a short window, on one target.
/// </summary>
public static class ApprovalKinds
{
    public const string Approval = "approval";
    public const string Elevation = "elevation";
}

/// <summary>
/// pending → approved → used (an approval, once) or closed (an elevation, when its window ends);
/// pending → denied; pending → expired (nobody decided in time).
/// </summary>
public static class ApprovalStatuses
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
    public const string Expired = "expired";
    public const string Used = "used";
    public const string Closed = "closed";
}

/// <summary>One human's decision on an approval.</summary>
public sealed record ApprovalVote(string User, bool Approve, string Reason, DateTimeOffset At, int? WindowSeconds = null);

/// <summary>
/// Exactly what an agent asked for, which an approval is bound to: the agent, its task, resource, environment,
/// actions (the scope string, normalised), target and requested TTL. Anything else is another request.
/// </summary>
public sealed record ApprovalBinding(string AgentId, string TaskId, string Resource, string Environment, string Scope, string? Target, int? TtlSeconds)
{
    /// <summary>SHA-256 over the fields, length-prefixed so no two different requests can collide by concatenation.</summary>
    public string Hash()
    {
        var text = new StringBuilder();
        foreach (var field in new[] { AgentId, TaskId, Resource, Environment, Scope, Target ?? "\0", TtlSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "\0" })
            text.Append(field.Length).Append(':').Append(field).Append(';');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The first field in which <paramref name="other"/> differs, for a message that says what changed; null when equal.</summary>
    public string? FirstDifference(ApprovalBinding other) =>
        AgentId != other.AgentId ? "agent"
        : TaskId != other.TaskId ? "task"
        : Resource != other.Resource ? "resource"
        : Environment != other.Environment ? "environment"
        : Scope != other.Scope ? "actions"
        : Target != other.Target ? "target"
        : TtlSeconds != other.TtlSeconds ? "ttl"
        : null;
}

/// <summary>
/// A request waiting for (or holding) a human decision. <see cref="Rule"/> is the approval rule as it was
/// when the request was made, so a policy change cannot widen who may decide an open request.
/// <see cref="Version"/> is the optimistic-concurrency counter: two approvers racing cannot both decide.
/// </summary>
public sealed record Approval(
    string Id,
    string Kind,
    string Status,
    ApprovalBinding Request,
    string? OnBehalfOf,
    string AgentOwner,
    string Justification,
    ApprovalRule Rule,
    DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<ApprovalVote> Votes,
    DateTimeOffset? DecidedAt,
    DateTimeOffset? WindowEndsAt,
    DateTimeOffset? UsedAt,
    int Version)
{
    public bool IsElevation => Kind == ApprovalKinds.Elevation;

    public int Approvals => Votes.Count(v => v.Approve);
}
