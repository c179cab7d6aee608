using Dapper;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Core.Tasks;

namespace Writ.Storage.Stores;

internal sealed class TaskStore(Engine engine) : ITaskStore
{
    private const string Columns =
        "id AS Id, agent_id AS AgentId, purpose AS Purpose, ticket AS Ticket, on_behalf_of AS OnBehalfOf, status AS Status, " +
        "created_at AS CreatedAt, expires_at AS ExpiresAt, closed_at AS ClosedAt";

    public Task CreateAsync(WorkTask task, AuditEvent? audit, CancellationToken ct) =>
        engine.WriteAuditedAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO tasks (id, agent_id, purpose, ticket, on_behalf_of, status, created_at, expires_at, closed_at) " +
            "VALUES (@Id, @AgentId, @Purpose, @Ticket, @OnBehalfOf, @Status, @CreatedAt, @ExpiresAt, @ClosedAt)",
            new
            {
                task.Id,
                task.AgentId,
                task.Purpose,
                task.Ticket,
                task.OnBehalfOf,
                task.Status,
                CreatedAt = UnixMicros.From(task.CreatedAt),
                ExpiresAt = UnixMicros.From(task.ExpiresAt),
                ClosedAt = task.ClosedAt is { } t ? UnixMicros.From(t) : (long?)null,
            }, tx, cancellationToken: ct)), _ => audit, ct);

    public async Task<WorkTask?> GetAsync(string taskId, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<TaskRow>(new CommandDefinition(
            $"SELECT {Columns} FROM tasks WHERE id = @taskId", new { taskId }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToTask();
    }

    /// <summary>Closing a task and revoking what was issued under it is one transaction: no credential outlives its task.</summary>
    public Task<bool> CompleteAsync(string taskId, DateTimeOffset now, AuditEvent? audit, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAsync(async (c, tx) =>
        {
            var closed = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE tasks SET status = @completed, closed_at = @at WHERE id = @taskId AND status = @open",
                new { taskId, at, completed = TaskStatuses.Completed, open = TaskStatuses.Open }, tx, cancellationToken: ct)).ConfigureAwait(false);
            if (closed == 0) return false;
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE credentials SET revoked_at = @at WHERE task_id = @taskId AND revoked_at IS NULL",
                new { taskId, at }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return true;
        }, closed => closed ? audit : null, ct);
    }

    public Task<IReadOnlyList<string>> ExpireDueAsync(DateTimeOffset now, Func<string, AuditEvent>? audit, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAllAsync<IReadOnlyList<string>>(async (c, tx) =>
        {
            // RETURNING tells exactly which tasks this transaction expired: a replica running the same job
            // concurrently blocks on the row locks and then finds them no longer open.
            var ids = (await c.QueryAsync<string>(new CommandDefinition(
                "UPDATE tasks SET status = @expired, closed_at = @at WHERE status = @open AND expires_at <= @at RETURNING id",
                new { at, expired = TaskStatuses.Expired, open = TaskStatuses.Open }, tx, cancellationToken: ct)).ConfigureAwait(false)).ToList();
            if (ids.Count == 0) return ids;
            ids.Sort(StringComparer.Ordinal);
            foreach (var chunk in ids.Chunk(500))
            {
                var parameters = new DynamicParameters(new { at });
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "@t" + i;
                    parameters.Add("t" + i, chunk[i]);
                }
                await c.ExecuteAsync(new CommandDefinition(
                    $"UPDATE credentials SET revoked_at = @at WHERE revoked_at IS NULL AND task_id IN ({string.Join(", ", names)})",
                    parameters, tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            return ids;
        }, ids => audit is null ? [] : ids.Select(audit).ToList(), ct);
    }

    public async Task<IReadOnlyList<WorkTask>> ListAsync(string? agentId, string? status, int limit, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<TaskRow>(new CommandDefinition(
            $"SELECT {Columns} FROM tasks WHERE (@agentId IS NULL OR agent_id = @agentId) AND (@status IS NULL OR status = @status) " +
            "ORDER BY created_at DESC, id LIMIT @limit",
            new { agentId, status, limit = (long)Math.Clamp(limit, 1, 10_000) }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToTask()).ToList();
    }

    internal sealed class TaskRow
    {
        public string Id { get; set; } = "";
        public string AgentId { get; set; } = "";
        public string Purpose { get; set; } = "";
        public string? Ticket { get; set; }
        public string? OnBehalfOf { get; set; }
        public string Status { get; set; } = "";
        public long CreatedAt { get; set; }
        public long ExpiresAt { get; set; }
        public long? ClosedAt { get; set; }

        public WorkTask ToTask() => new(
            Id, AgentId, Purpose, Ticket, OnBehalfOf, Status, UnixMicros.ToTime(CreatedAt), UnixMicros.ToTime(ExpiresAt),
            ClosedAt is { } c ? UnixMicros.ToTime(c) : null);
    }
}
