using System.Data.Common;
using System.Text.Json;
using Dapper;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class AgentStore(Engine engine) : IAgentStore
{
    private const string AgentColumns =
        "id AS Id, kind AS Kind, owner AS Owner, roles AS Roles, description AS Description, status AS Status, " +
        "created_at AS CreatedAt, last_seen_at AS LastSeenAt";

    private const string KeyColumns =
        "thumbprint AS Thumbprint, agent_id AS AgentId, public_jwk AS PublicJwk, created_at AS CreatedAt, revoked_at AS RevokedAt";

    public Task UpsertAsync(IReadOnlyList<Agent> agents, CancellationToken ct) =>
        agents.Count == 0 ? Task.CompletedTask : engine.WriteAsync((c, tx) => UpsertAsync(c, tx, agents, ct), ct);

    /// <summary><see cref="UpsertAsync(IReadOnlyList{Agent}, CancellationToken)"/> inside a transaction another store opened.</summary>
    internal static Task<int> UpsertAsync(DbConnection c, DbTransaction tx, IReadOnlyList<Agent> agents, CancellationToken ct)
    {
        if (agents.Count == 0) return Task.FromResult(0);
        var rows = agents.Select(a => new
        {
            a.Id,
            a.Kind,
            a.Owner,
            Roles = JsonSerializer.Serialize(a.Roles, StorageJson.Default.IReadOnlyListString),
            a.Description,
            a.Status,
            CreatedAt = UnixMicros.From(a.CreatedAt),
            LastSeenAt = UnixMicros.FromOptional(a.LastSeenAt),
        }).ToList();
        // Status, keys, creation and last-seen times belong to the store once the agent exists; policy declares the rest.
        return c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO agents (id, kind, owner, roles, description, status, created_at, last_seen_at) " +
            "VALUES (@Id, @Kind, @Owner, @Roles, @Description, @Status, @CreatedAt, @LastSeenAt) " +
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, owner = excluded.owner, roles = excluded.roles, description = excluded.description",
            rows, tx, cancellationToken: ct));
    }

    public async Task<Agent?> GetAsync(string agentId, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<AgentRow>(new CommandDefinition(
            $"SELECT {AgentColumns} FROM agents WHERE id = @agentId", new { agentId }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToAgent();
    }

    public async Task<IReadOnlyList<Agent>> ListAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<AgentRow>(new CommandDefinition($"SELECT {AgentColumns} FROM agents ORDER BY id", cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToAgent()).ToList();
    }

    public Task<bool> SetStatusAsync(string agentId, string status, DateTimeOffset? revokeCredentialsAt, CancellationToken ct) =>
        engine.WriteAsync(async (c, tx) =>
        {
            var found = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE agents SET status = @status WHERE id = @agentId", new { agentId, status }, tx, cancellationToken: ct)).ConfigureAwait(false) > 0;
            if (found && revokeCredentialsAt is { } now) await CredentialStore.RevokeByAgentAsync(c, tx, agentId, now, ct).ConfigureAwait(false);
            return found;
        }, ct);

    public Task TouchLastSeenAsync(string agentId, DateTimeOffset at, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "UPDATE agents SET last_seen_at = @at WHERE id = @agentId AND (last_seen_at IS NULL OR last_seen_at < @at)",
            new { agentId, at = UnixMicros.From(at) }, tx, cancellationToken: ct)), ct);

    public Task AddEnrollmentCodeAsync(EnrollmentCode code, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO enrollment_codes (code_hash, agent_id, created_by, created_at, expires_at, used_at) " +
            "VALUES (@CodeHash, @AgentId, @CreatedBy, @CreatedAt, @ExpiresAt, @UsedAt)",
            new
            {
                code.CodeHash,
                code.AgentId,
                code.CreatedBy,
                CreatedAt = UnixMicros.From(code.CreatedAt),
                ExpiresAt = UnixMicros.From(code.ExpiresAt),
                UsedAt = UnixMicros.FromOptional(code.UsedAt),
            }, tx, cancellationToken: ct)), ct);

    public async Task<Result<AgentKey>> EnrollAsync(string codeHash, string thumbprint, string publicJwk, DateTimeOffset now,
        Func<Agent, AgentKey, AuditEvent> audit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var nowMicros = UnixMicros.From(now);
        Agent? agent = null;
        try
        {
            return await engine.WriteAuditedAsync<Result<AgentKey>>(async (c, tx) =>
            {
                // Checks first, writes last: an error returns before anything is written.
                var code = await c.QuerySingleOrDefaultAsync<CodeRow>(new CommandDefinition(
                    $"SELECT agent_id AS AgentId, expires_at AS ExpiresAt, used_at AS UsedAt FROM enrollment_codes WHERE code_hash = @codeHash{engine.ForUpdate}",
                    new { codeHash }, tx, cancellationToken: ct)).ConfigureAwait(false);
                if (code is null) return Result<AgentKey>.Fail("enroll.invalid_code", "The enrollment code is not valid.");
                if (code.UsedAt is not null) return Result<AgentKey>.Fail("enroll.code_used", "The enrollment code was already used; ask the agent's owner for a new one.");
                if (code.ExpiresAt <= nowMicros) return Result<AgentKey>.Fail("enroll.code_expired", "The enrollment code has expired; ask the agent's owner for a new one.");
                var exists = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM agent_keys WHERE thumbprint = @thumbprint", new { thumbprint }, tx, cancellationToken: ct)).ConfigureAwait(false);
                if (exists > 0) return KeyExists();
                // The audit record names the agent's kind and environment: read in this transaction, as it stands now.
                agent = (await c.QuerySingleOrDefaultAsync<AgentRow>(new CommandDefinition(
                    $"SELECT {AgentColumns} FROM agents WHERE id = @agentId", new { agentId = code.AgentId }, tx, cancellationToken: ct)).ConfigureAwait(false))?.ToAgent();
                if (agent is null) return Result<AgentKey>.Fail("enroll.invalid_code", "The enrollment code is not valid.");

                await c.ExecuteAsync(new CommandDefinition(
                    "UPDATE enrollment_codes SET used_at = @now WHERE code_hash = @codeHash", new { codeHash, now = nowMicros }, tx, cancellationToken: ct)).ConfigureAwait(false);
                await c.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO agent_keys (thumbprint, agent_id, public_jwk, created_at, revoked_at) VALUES (@thumbprint, @agentId, @publicJwk, @now, NULL)",
                    new { thumbprint, agentId = code.AgentId, publicJwk, now = nowMicros }, tx, cancellationToken: ct)).ConfigureAwait(false);
                return new AgentKey(thumbprint, code.AgentId, publicJwk, UnixMicros.ToTime(nowMicros), null);
            }, enrolled => enrolled.IsSuccess ? audit(agent!, enrolled.Value) : null, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (engine.IsUniqueViolation(ex))
        {
            // Another replica enrolled the same key between our check and our insert; our transaction rolled back.
            return KeyExists();
        }

        static Result<AgentKey> KeyExists() => Result<AgentKey>.Fail("enroll.key_exists", "This key is already enrolled; generate a new key pair.");
    }

    public async Task<AgentKey?> GetKeyAsync(string thumbprint, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"SELECT {KeyColumns} FROM agent_keys WHERE thumbprint = @thumbprint", new { thumbprint }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToKey();
    }

    public async Task<KeyHolder?> GetKeyHolderAsync(string thumbprint, string? taskId, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<KeyRow, AgentRow, TaskStore.TaskRow?, KeyHolder>(new CommandDefinition(
            "SELECT k.thumbprint AS Thumbprint, k.agent_id AS AgentId, k.public_jwk AS PublicJwk, k.created_at AS CreatedAt, k.revoked_at AS RevokedAt, " +
            "a.id AS Id, a.kind AS Kind, a.owner AS Owner, a.roles AS Roles, a.description AS Description, a.status AS Status, " +
            "a.created_at AS CreatedAt, a.last_seen_at AS LastSeenAt, " +
            "t.id AS Id, t.agent_id AS AgentId, t.purpose AS Purpose, t.ticket AS Ticket, t.on_behalf_of AS OnBehalfOf, t.status AS Status, " +
            "t.created_at AS CreatedAt, t.expires_at AS ExpiresAt, t.closed_at AS ClosedAt " +
            "FROM agent_keys k JOIN agents a ON a.id = k.agent_id " +
            "LEFT JOIN tasks t ON t.id = @taskId AND t.agent_id = k.agent_id " +
            "WHERE k.thumbprint = @thumbprint",
            new { thumbprint, taskId }, cancellationToken: ct),
            (key, agent, task) => new KeyHolder(key.ToKey(), agent.ToAgent(), task?.ToTask()),
            splitOn: "Id,Id").ConfigureAwait(false);
        return rows.FirstOrDefault();
    }

    public async Task<IReadOnlyList<AgentKey>> ListKeysAsync(string agentId, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<KeyRow>(new CommandDefinition(
            $"SELECT {KeyColumns} FROM agent_keys WHERE agent_id = @agentId ORDER BY created_at, thumbprint", new { agentId }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToKey()).ToList();
    }


    private sealed class AgentRow
    {
        public string Id { get; set; } = "";
        public string Kind { get; set; } = "";
        public string Owner { get; set; } = "";
        public string Roles { get; set; } = "[]";
        public string? Description { get; set; }
        public string Status { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? LastSeenAt { get; set; }

        public Agent ToAgent() => new(
            Id, Kind, Owner,
            JsonSerializer.Deserialize(Roles, StorageJson.Default.IReadOnlyListString) ?? [],
            Description, Status, UnixMicros.ToTime(CreatedAt), LastSeenAt is { } s ? UnixMicros.ToTime(s) : null);
    }

    private sealed class KeyRow
    {
        public string Thumbprint { get; set; } = "";
        public string AgentId { get; set; } = "";
        public string PublicJwk { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? RevokedAt { get; set; }

        public AgentKey ToKey() => new(Thumbprint, AgentId, PublicJwk, UnixMicros.ToTime(CreatedAt), RevokedAt is { } r ? UnixMicros.ToTime(r) : null);
    }

    private sealed class CodeRow
    {
        public string AgentId { get; set; } = "";
        public long ExpiresAt { get; set; }
        public long? UsedAt { get; set; }
    }
}
