using Writ.Core.Audit;
using Writ.Core.Credentials;

namespace Writ.Storage;

/// <summary>Audit statements and column order shared by both engines' append paths and by the reads.</summary>
internal static class AuditSql
{
    public static readonly string[] EventColumns =
    [
        "seq", "at", "actor_kind", "actor_id", "on_behalf_of", "task_id", "action", "resource", "environment",
        "scope", "target", "decision", "reason", "policy_version", "duration_micros", "details", "prev_hash", "hash",
    ];

    public const string SelectHead = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

    public static readonly string InsertEvent =
        $"INSERT INTO audit_events ({string.Join(", ", EventColumns)}) VALUES ({string.Join(", ", EventColumns.Select(c => "@" + c))})";

    public const string SelectColumns =
        "seq AS Seq, at AS At, actor_kind AS ActorKind, actor_id AS ActorId, on_behalf_of AS OnBehalfOf, task_id AS TaskId, " +
        "action AS Action, resource AS Resource, environment AS Environment, scope AS Scope, target AS Target, " +
        "decision AS Decision, reason AS Reason, policy_version AS PolicyVersion, duration_micros AS DurationMicros, " +
        "details AS Details, prev_hash AS PrevHash, hash AS Hash";

    /// <summary>The values of <see cref="EventColumns"/> for one record, in order.</summary>
    public static object?[] EventValues(AuditRecord r)
    {
        var e = r.Event;
        return
        [
            r.Seq, UnixMicros.From(e.At), e.ActorKind, e.ActorId, e.OnBehalfOf, e.TaskId, e.Action, e.Resource, e.Environment,
            e.Scope, e.Target, e.Decision, e.Reason, e.PolicyVersion is { } v ? (long)v : null, e.DurationMicros, e.Details,
            r.PrevHash, r.Hash,
        ];
    }
}

/// <summary>Issued-credential statements shared by both engines.</summary>
internal static class CredentialSql
{
    public static readonly string[] Columns =
    [
        "jti", "agent_id", "task_id", "resource", "environment", "scope", "target", "key_thumbprint", "issued_at", "expires_at", "revoked_at",
    ];

    public static readonly string Insert =
        $"INSERT INTO credentials ({string.Join(", ", Columns)}) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))})";

    public const string SelectColumns =
        "jti AS Jti, agent_id AS AgentId, task_id AS TaskId, resource AS Resource, environment AS Environment, scope AS Scope, " +
        "target AS Target, key_thumbprint AS KeyThumbprint, issued_at AS IssuedAt, expires_at AS ExpiresAt, revoked_at AS RevokedAt";

    public static object?[] Values(IssuedCredential c) =>
    [
        c.Jti, c.AgentId, c.TaskId, c.Resource, c.Environment, c.Scope, c.Target, c.KeyThumbprint,
        UnixMicros.From(c.IssuedAt), UnixMicros.From(c.ExpiresAt), c.RevokedAt is { } r ? UnixMicros.From(r) : null,
    ];
}
