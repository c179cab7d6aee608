using System.Text.Json;
using Dapper;
using Writ.Core.Approvals;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Core.Tasks;

namespace Writ.Storage.Stores;

internal sealed class ApprovalStore(Engine engine) : IApprovalStore
{
    private const string Columns =
        "id AS Id, kind AS Kind, status AS Status, agent_id AS AgentId, task_id AS TaskId, resource AS Resource, environment AS Environment, " +
        "scope AS Scope, target AS Target, ttl_seconds AS TtlSeconds, on_behalf_of AS OnBehalfOf, agent_owner AS AgentOwner, " +
        "justification AS Justification, rule_json AS RuleJson, votes_json AS VotesJson, requested_at AS RequestedAt, expires_at AS ExpiresAt, " +
        "decided_at AS DecidedAt, window_ends_at AS WindowEndsAt, used_at AS UsedAt, version AS Version";

    public Task CreateAsync(Approval a, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO approvals (id, kind, status, agent_id, task_id, resource, environment, scope, target, ttl_seconds, binding_hash, " +
            "on_behalf_of, agent_owner, justification, rule_json, votes_json, requested_at, expires_at, decided_at, window_ends_at, used_at, version) " +
            "VALUES (@Id, @Kind, @Status, @AgentId, @TaskId, @Resource, @Environment, @Scope, @Target, @TtlSeconds, @BindingHash, " +
            "@OnBehalfOf, @AgentOwner, @Justification, @RuleJson, @VotesJson, @RequestedAt, @ExpiresAt, @DecidedAt, @WindowEndsAt, @UsedAt, @Version)",
            new
            {
                a.Id,
                a.Kind,
                a.Status,
                a.Request.AgentId,
                a.Request.TaskId,
                a.Request.Resource,
                a.Request.Environment,
                a.Request.Scope,
                a.Request.Target,
                TtlSeconds = (long?)a.Request.TtlSeconds,
                BindingHash = a.Request.Hash(),
                a.OnBehalfOf,
                a.AgentOwner,
                a.Justification,
                RuleJson = JsonSerializer.Serialize(a.Rule, StorageJson.Default.ApprovalRule),
                VotesJson = JsonSerializer.Serialize(a.Votes, StorageJson.Default.IReadOnlyListApprovalVote),
                RequestedAt = UnixMicros.From(a.RequestedAt),
                ExpiresAt = UnixMicros.From(a.ExpiresAt),
                DecidedAt = UnixMicros.FromOptional(a.DecidedAt),
                WindowEndsAt = UnixMicros.FromOptional(a.WindowEndsAt),
                UsedAt = UnixMicros.FromOptional(a.UsedAt),
                Version = (long)a.Version,
            }, tx, cancellationToken: ct)), ct);

    public async Task<Approval?> GetAsync(string id, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM approvals WHERE id = @id", new { id }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToApproval();
    }

    public async Task<Approval?> FindPendingAsync(ApprovalBinding binding, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM approvals WHERE binding_hash = @hash AND status = @pending AND expires_at > @now ORDER BY requested_at DESC",
            new { hash = binding.Hash(), pending = ApprovalStatuses.Pending, now = UnixMicros.From(now) }, cancellationToken: ct)).ConfigureAwait(false);
        // The hash selects; the fields decide (a hash is not trusted to be the request).
        return rows.Select(r => r.ToApproval()).FirstOrDefault(a => a.Request == binding);
    }

    public async Task<int> CountPendingAsync(string agentId, string taskId, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        return (int)await c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM approvals WHERE agent_id = @agentId AND task_id = @taskId AND status = @pending AND expires_at > @now",
            new { agentId, taskId, pending = ApprovalStatuses.Pending, now = UnixMicros.From(now) }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Approval>> ListAsync(string? status, int limit, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM approvals WHERE (@status IS NULL OR status = @status) ORDER BY requested_at DESC, id LIMIT @limit",
            new { status, limit = (long)limit }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToApproval()).ToList();
    }

    public Task<bool> UpdateAsync(Approval a, CancellationToken ct) =>
        engine.WriteAsync(async (c, tx) => await c.ExecuteAsync(new CommandDefinition(
            "UPDATE approvals SET status = @Status, votes_json = @VotesJson, decided_at = @DecidedAt, window_ends_at = @WindowEndsAt, " +
            "used_at = @UsedAt, version = @Version WHERE id = @Id AND version = @Previous",
            new
            {
                a.Id,
                a.Status,
                VotesJson = JsonSerializer.Serialize(a.Votes, StorageJson.Default.IReadOnlyListApprovalVote),
                DecidedAt = UnixMicros.FromOptional(a.DecidedAt),
                WindowEndsAt = UnixMicros.FromOptional(a.WindowEndsAt),
                UsedAt = UnixMicros.FromOptional(a.UsedAt),
                Version = (long)a.Version,
                Previous = (long)a.Version - 1,
            }, tx, cancellationToken: ct)).ConfigureAwait(false) == 1, ct);

    public Task<IReadOnlyList<Approval>> ExpireDueAsync(DateTimeOffset now, Func<Approval, AuditEvent>? audit, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAllAsync<IReadOnlyList<Approval>>(async (c, tx) =>
        {
            var due = (await c.QueryAsync<Row>(new CommandDefinition(
                // Past their own expiry, or asked for a task that has ended: approving those would grant nothing.
                $"SELECT {Columns} FROM approvals WHERE status = @pending AND (expires_at <= @at " +
                "OR EXISTS (SELECT 1 FROM tasks WHERE tasks.id = approvals.task_id AND (tasks.status <> @open OR tasks.expires_at <= @at)))",
                new { pending = ApprovalStatuses.Pending, open = TaskStatuses.Open, at }, tx, cancellationToken: ct)).ConfigureAwait(false)).ToList();
            var expired = new List<Approval>();
            foreach (var row in due)
            {
                // Only the rows this statement changed: an approver deciding at the same moment (another replica) wins.
                var changed = await c.ExecuteAsync(new CommandDefinition(
                    "UPDATE approvals SET status = @expired, version = version + 1 WHERE id = @Id AND status = @pending AND version = @Version",
                    new { row.Id, row.Version, expired = ApprovalStatuses.Expired, pending = ApprovalStatuses.Pending }, tx, cancellationToken: ct)).ConfigureAwait(false);
                if (changed == 1) expired.Add(row.ToApproval() with { Status = ApprovalStatuses.Expired });
            }
            return expired;
        }, expired => audit is null ? [] : expired.Select(audit).ToList(), ct);
    }

    public Task<IReadOnlyList<(Approval Elevation, int Revoked)>> CloseEndedWindowsAsync(DateTimeOffset now, Func<Approval, int, AuditEvent>? audit, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAllAsync<IReadOnlyList<(Approval, int)>>(async (c, tx) =>
        {
            var ended = (await c.QueryAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM approvals WHERE kind = @elevation AND status = @approved AND window_ends_at <= @at",
                new { elevation = ApprovalKinds.Elevation, approved = ApprovalStatuses.Approved, at }, tx, cancellationToken: ct)).ConfigureAwait(false)).ToList();
            var closed = new List<(Approval, int)>();
            foreach (var row in ended)
            {
                var changed = await c.ExecuteAsync(new CommandDefinition(
                    "UPDATE approvals SET status = @closed, version = version + 1 WHERE id = @Id AND status = @approved",
                    new { row.Id, closed = ApprovalStatuses.Closed, approved = ApprovalStatuses.Approved }, tx, cancellationToken: ct)).ConfigureAwait(false);
                if (changed == 0) continue; // closed by another replica's sweep
                // The credentials this elevation produced: its exact request, issued while its window was open.
                var revoked = await c.ExecuteAsync(new CommandDefinition(
                    "UPDATE credentials SET revoked_at = @at WHERE task_id = @TaskId AND agent_id = @AgentId AND resource = @Resource " +
                    "AND environment = @Environment AND scope = @Scope AND COALESCE(target, '') = COALESCE(@Target, '') " +
                    "AND issued_at >= @from AND revoked_at IS NULL",
                    new { at, row.TaskId, row.AgentId, row.Resource, row.Environment, row.Scope, row.Target, from = (row.DecidedAt ?? row.RequestedAt) - 1_000_000 },
                    tx, cancellationToken: ct)).ConfigureAwait(false);
                closed.Add((row.ToApproval() with { Status = ApprovalStatuses.Closed }, revoked));
            }
            return closed;
        }, closed => audit is null ? [] : closed.Select(x => audit(x.Item1, x.Item2)).ToList(), ct);
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Status { get; set; } = "";
        public string AgentId { get; set; } = "";
        public string TaskId { get; set; } = "";
        public string Resource { get; set; } = "";
        public string Environment { get; set; } = "";
        public string Scope { get; set; } = "";
        public string? Target { get; set; }
        public long? TtlSeconds { get; set; }
        public string? OnBehalfOf { get; set; }
        public string AgentOwner { get; set; } = "";
        public string Justification { get; set; } = "";
        public string RuleJson { get; set; } = "";
        public string VotesJson { get; set; } = "[]";
        public long RequestedAt { get; set; }
        public long ExpiresAt { get; set; }
        public long? DecidedAt { get; set; }
        public long? WindowEndsAt { get; set; }
        public long? UsedAt { get; set; }
        public long Version { get; set; }

        public Approval ToApproval() => new(
            Id, Kind, Status,
            new ApprovalBinding(AgentId, TaskId, Resource, Environment, Scope, Target, TtlSeconds is { } t ? (int)t : null),
            OnBehalfOf, AgentOwner, Justification,
            JsonSerializer.Deserialize(RuleJson, StorageJson.Default.ApprovalRule)!,
            UnixMicros.ToTime(RequestedAt), UnixMicros.ToTime(ExpiresAt),
            JsonSerializer.Deserialize(VotesJson, StorageJson.Default.IReadOnlyListApprovalVote) ?? [],
            UnixMicros.ToOptionalTime(DecidedAt), UnixMicros.ToOptionalTime(WindowEndsAt), UnixMicros.ToOptionalTime(UsedAt), (int)Version);
    }
}
