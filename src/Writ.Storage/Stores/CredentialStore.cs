using System.Data.Common;
using Dapper;
using Writ.Core.Audit;
using Writ.Core.Credentials;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class CredentialStore(Engine engine) : ICredentialStore
{
    public async Task<IssuedCredential?> GetAsync(string jti, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<CredentialRow>(new CommandDefinition(
            $"SELECT {CredentialSql.SelectColumns} FROM credentials WHERE jti = @jti", new { jti }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToCredential();
    }

    public Task<bool> RevokeAsync(string jti, DateTimeOffset now, Func<bool, AuditEvent>? audit, CancellationToken ct) =>
        engine.WriteAuditedAsync(async (c, tx) => await c.ExecuteAsync(new CommandDefinition(
            "UPDATE credentials SET revoked_at = @at WHERE jti = @jti AND revoked_at IS NULL",
            new { jti, at = UnixMicros.From(now) }, tx, cancellationToken: ct)).ConfigureAwait(false) > 0, revoked => audit?.Invoke(revoked), ct);

    public Task<int> RevokeByAgentAsync(string agentId, DateTimeOffset now, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => RevokeByAgentAsync(c, tx, agentId, now, ct), ct);

    /// <summary><see cref="RevokeByAgentAsync(string, DateTimeOffset, CancellationToken)"/> inside a transaction another store opened.</summary>
    internal static Task<int> RevokeByAgentAsync(DbConnection c, DbTransaction tx, string agentId, DateTimeOffset now, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition(
            "UPDATE credentials SET revoked_at = @at WHERE agent_id = @agentId AND revoked_at IS NULL AND expires_at > @at",
            new { agentId, at = UnixMicros.From(now) }, tx, cancellationToken: ct));

    public async Task<IReadOnlyList<IssuedCredential>> ListActiveAsync(string? agentId, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<CredentialRow>(new CommandDefinition(
            $"SELECT {CredentialSql.SelectColumns} FROM credentials " +
            "WHERE revoked_at IS NULL AND expires_at > @now AND (@agentId IS NULL OR agent_id = @agentId) ORDER BY issued_at, jti",
            new { agentId, now = UnixMicros.From(now) }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToCredential()).ToList();
    }

    public async Task<IReadOnlyDictionary<string, int>> CountActiveByAgentAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<CountRow>(new CommandDefinition(
            "SELECT agent_id AS AgentId, COUNT(*) AS Active FROM credentials WHERE revoked_at IS NULL AND expires_at > @now GROUP BY agent_id",
            new { now = UnixMicros.From(now) }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.ToDictionary(r => r.AgentId, r => (int)r.Active, StringComparer.Ordinal);
    }

    private sealed class CountRow
    {
        public string AgentId { get; set; } = "";
        public long Active { get; set; }
    }
}

internal sealed class CredentialRow
{
    public string Jti { get; set; } = "";
    public string AgentId { get; set; } = "";
    public string TaskId { get; set; } = "";
    public string Resource { get; set; } = "";
    public string Environment { get; set; } = "";
    public string Scope { get; set; } = "";
    public string? Target { get; set; }
    public string KeyThumbprint { get; set; } = "";
    public long IssuedAt { get; set; }
    public long ExpiresAt { get; set; }
    public long? RevokedAt { get; set; }

    public IssuedCredential ToCredential() => new(
        Jti, AgentId, TaskId, Resource, Environment, Scope, Target, KeyThumbprint,
        UnixMicros.ToTime(IssuedAt), UnixMicros.ToTime(ExpiresAt), RevokedAt is { } r ? UnixMicros.ToTime(r) : null);
}
