namespace Writ.Core.Audit;

/// <summary>Who acted. The audit log tells AI agents from humans at a glance.</summary>
public static class ActorKinds
{
    public const string AiAgent = "ai-agent";
    public const string Human = "human";
    public const string Service = "service";
    public const string Ci = "ci";
    public const string System = "system";
    /// <summary>A caller that failed to authenticate: the log keeps the attempt without trusting any name it claimed.</summary>
    public const string Unknown = "unknown";
}

/// <summary>The outcome an audit event records.</summary>
public static class Decisions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string ApprovalRequired = "approval_required";
    public const string ElevationRequired = "elevation_required";
    /// <summary>An administrative or lifecycle fact that is not a request decision (policy applied, task closed, key rotated).</summary>
    public const string Info = "info";
}

/// <summary>
/// One append-only audit record, before it is chained. Never holds a secret: tokens and codes
/// appear by id or fingerprint only; <see cref="Details"/> is a small JSON object of redacted extras.
/// </summary>
public sealed record AuditEvent(
    DateTimeOffset At,
    string ActorKind,
    string ActorId,
    string? OnBehalfOf,
    string? TaskId,
    string Action,
    string? Resource,
    string? Environment,
    string? Scope,
    string? Target,
    string Decision,
    string? Reason,
    int? PolicyVersion,
    long DurationMicros,
    string? Details);

/// <summary>An event as stored: its position in the chain, the previous record's hash and its own.</summary>
public sealed record AuditRecord(long Seq, AuditEvent Event, string PrevHash, string Hash);

/// <summary>A signed statement "the chain up to <see cref="Seq"/> ends in <see cref="Hash"/>", which makes a rewrite of the whole chain detectable.</summary>
public sealed record AuditCheckpoint(long Seq, string Hash, DateTimeOffset At, string KeyId, string Signature);

/// <summary>Filters for <c>writ audit search</c>; every field is optional and they combine with AND.</summary>
public sealed record AuditQuery(
    string? ActorId = null,
    string? TaskId = null,
    string? Action = null,
    string? Resource = null,
    string? Environment = null,
    string? Decision = null,
    DateTimeOffset? Since = null,
    DateTimeOffset? Until = null,
    long? AfterSeq = null,
    int Limit = 100);
