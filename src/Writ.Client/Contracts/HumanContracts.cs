namespace Writ.Client.Contracts;

// Human operators, sessions and approvals (snake_case on the wire, like every Writ contract).

/// <summary>The password travels in the body, never in a URL or argv.</summary>
public sealed record AddUserRequest(string Name, IReadOnlyList<string> Roles, string Password)
{
    public override string ToString() => $"AddUserRequest {{ Name = {Name}, Roles = {string.Join(",", Roles)}, Password = *** }}";
}

public sealed record UserInfo(string Name, IReadOnlyList<string> Roles, string Status, DateTimeOffset CreatedAt, DateTimeOffset? DisabledAt, DateTimeOffset? LockedUntil);

public sealed record LoginRequest(string User, string Password)
{
    public override string ToString() => $"LoginRequest {{ User = {User}, Password = *** }}";
}

public sealed record LoginResponse(string Token, string User, IReadOnlyList<string> Roles, DateTimeOffset ExpiresAt);

public sealed record WhoAmI(string Kind, string Name, IReadOnlyList<string> Roles);

public sealed record ApprovalVoteInfo(string User, string Decision, string Reason, DateTimeOffset At, int? WindowSeconds);

public sealed record ApprovalInfo(
    string Id,
    string Kind,
    string Status,
    string AgentId,
    string? OnBehalfOf,
    string AgentOwner,
    string TaskId,
    string Resource,
    string Environment,
    string Scope,
    string? Target,
    int? TtlSeconds,
    string Justification,
    int Required,
    int Approvals,
    IReadOnlyList<string> Approvers,
    int MaxWindowSeconds,
    DateTimeOffset RequestedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? DecidedAt,
    DateTimeOffset? WindowEndsAt,
    DateTimeOffset? UsedAt,
    IReadOnlyList<ApprovalVoteInfo> Votes);

/// <summary>
/// <see cref="Window"/> (elevations only) is a duration like 10m; at most the rule's max_window. <see cref="Password"/> is the
/// decider's own password again: a session token alone (which an agent on the same machine could read) cannot decide.
/// </summary>
public sealed record DecideApprovalRequest(string? Reason, string? Window = null, string? Password = null)
{
    public override string ToString() => $"DecideApprovalRequest {{ Reason = {Reason}, Window = {Window}, Password = *** }}";
}

public sealed record WebhookDeliveryInfo(
    string Id, string Event, string Subject, string Url, string Status, int Attempts, int? LastStatus, string? LastError,
    DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, DateTimeOffset NextAttemptAt);
