using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class AuditStore(Engine engine) : IAuditStore
{
    public Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct) =>
        engine.AppendAuditAsync(batch, ct);

    /// <summary>Matching records in chain order (ascending seq); page forward with <see cref="AuditQuery.AfterSeq"/>. Limit is clamped to 1..10,000.</summary>
    public async Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct)
    {
        var sql = new StringBuilder($"SELECT {AuditSql.SelectColumns} FROM audit_events WHERE 1 = 1");
        var p = new DynamicParameters();
        void Filter(string column, string name, object? value)
        {
            if (value is null) return;
            sql.Append(" AND ").Append(column).Append(" @").Append(name);
            p.Add(name, value);
        }
        Filter("actor_id =", "actorId", query.ActorId);
        Filter("task_id =", "taskId", query.TaskId);
        Filter("action =", "action", query.Action);
        Filter("resource =", "resource", query.Resource);
        Filter("environment =", "environment", query.Environment);
        Filter("decision =", "decision", query.Decision);
        Filter("at >=", "since", query.Since is { } s ? UnixMicros.From(s) : null);
        Filter("at <", "until", query.Until is { } u ? UnixMicros.From(u) : null);
        Filter("seq >", "afterSeq", query.AfterSeq);
        sql.Append(" ORDER BY seq LIMIT @limit");
        p.Add("limit", (long)Math.Clamp(query.Limit, 1, 10_000));

        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<AuditRow>(new CommandDefinition(sql.ToString(), p, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToRecord()).ToList();
    }

    /// <summary>Streams on one connection (unbuffered): memory stays flat however long the log is.</summary>
    public async IAsyncEnumerable<AuditRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        await foreach (var row in c.QueryUnbufferedAsync<AuditRow>($"SELECT {AuditSql.SelectColumns} FROM audit_events ORDER BY seq").WithCancellation(ct).ConfigureAwait(false))
        {
            yield return row.ToRecord();
        }
    }

    public async Task<AuditRecord?> GetHeadAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<AuditRow>(new CommandDefinition(
            $"SELECT {AuditSql.SelectColumns} FROM audit_events ORDER BY seq DESC LIMIT 1", cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    /// <summary>Idempotent per seq: a second checkpoint for the same seq (another replica) is ignored.</summary>
    public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (@Seq, @Hash, @At, @KeyId, @Signature) ON CONFLICT (seq) DO NOTHING",
            new { checkpoint.Seq, checkpoint.Hash, At = UnixMicros.From(checkpoint.At), checkpoint.KeyId, checkpoint.Signature },
            tx, cancellationToken: ct)), ct);

    public async Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<CheckpointRow>(new CommandDefinition(
            "SELECT seq AS Seq, hash AS Hash, at AS At, key_id AS KeyId, signature AS Signature FROM audit_checkpoints ORDER BY seq",
            cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => new AuditCheckpoint(r.Seq, r.Hash, UnixMicros.ToTime(r.At), r.KeyId, r.Signature)).ToList();
    }

    private sealed class CheckpointRow
    {
        public long Seq { get; set; }
        public string Hash { get; set; } = "";
        public long At { get; set; }
        public string KeyId { get; set; } = "";
        public string Signature { get; set; } = "";
    }

    private sealed class AuditRow
    {
        public long Seq { get; set; }
        public long At { get; set; }
        public string ActorKind { get; set; } = "";
        public string ActorId { get; set; } = "";
        public string? OnBehalfOf { get; set; }
        public string? TaskId { get; set; }
        public string Action { get; set; } = "";
        public string? Resource { get; set; }
        public string? Environment { get; set; }
        public string? Scope { get; set; }
        public string? Target { get; set; }
        public string Decision { get; set; } = "";
        public string? Reason { get; set; }
        public long? PolicyVersion { get; set; }
        public long DurationMicros { get; set; }
        public string? Details { get; set; }
        public string PrevHash { get; set; } = "";
        public string Hash { get; set; } = "";

        public AuditRecord ToRecord() => new(
            Seq,
            new AuditEvent(UnixMicros.ToTime(At), ActorKind, ActorId, OnBehalfOf, TaskId, Action, Resource, Environment, Scope, Target,
                Decision, Reason, PolicyVersion is { } v ? checked((int)v) : null, DurationMicros, Details),
            PrevHash,
            Hash);
    }
}
