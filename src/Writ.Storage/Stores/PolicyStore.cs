using Dapper;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class PolicyStore(Engine engine) : IPolicyStore
{
    private const string Columns = "version AS Version, sha256 AS Sha256, source AS Source, applied_by AS AppliedBy, applied_at AS AppliedAt";

    public Task<PolicyVersionRecord> AddVersionAsync(string sha256, string source, string appliedBy, DateTimeOffset now,
        IReadOnlyList<Agent> inventory, Func<PolicyVersionRecord, AuditEvent>? audit, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAsync(async (c, tx) =>
        {
            // Replicas applying at once must not both take the same number.
            if (engine.SerializeSql("writ.policy_versions") is { } serialize)
            {
                await c.ExecuteAsync(new CommandDefinition(serialize, transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            var version = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM policy_versions", transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            await c.ExecuteAsync(new CommandDefinition(
                "INSERT INTO policy_versions (version, sha256, source, applied_by, applied_at) VALUES (@version, @sha256, @source, @appliedBy, @at)",
                new { version, sha256, source, appliedBy, at }, tx, cancellationToken: ct)).ConfigureAwait(false);
            await AgentStore.UpsertAsync(c, tx, inventory, ct).ConfigureAwait(false);
            return new PolicyVersionRecord(checked((int)version), sha256, source, appliedBy, UnixMicros.ToTime(at));
        }, stored => audit?.Invoke(stored), ct);
    }

    public async Task<PolicyVersionRecord?> GetLatestAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<PolicyRow>(new CommandDefinition(
            $"SELECT {Columns} FROM policy_versions ORDER BY version DESC LIMIT 1", cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    public async Task<PolicyVersionRecord?> GetAsync(int version, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<PolicyRow>(new CommandDefinition(
            $"SELECT {Columns} FROM policy_versions WHERE version = @version", new { version = (long)version }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToRecord();
    }

    /// <summary>Newest first; <see cref="PolicyVersionRecord.Source"/> is empty in the list (fetch one version for its source).</summary>
    public async Task<IReadOnlyList<PolicyVersionRecord>> ListAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<PolicyRow>(new CommandDefinition(
            "SELECT version AS Version, sha256 AS Sha256, '' AS Source, applied_by AS AppliedBy, applied_at AS AppliedAt FROM policy_versions ORDER BY version DESC",
            cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToRecord()).ToList();
    }

    private sealed class PolicyRow
    {
        public long Version { get; set; }
        public string Sha256 { get; set; } = "";
        public string Source { get; set; } = "";
        public string AppliedBy { get; set; } = "";
        public long AppliedAt { get; set; }

        public PolicyVersionRecord ToRecord() => new(checked((int)Version), Sha256, Source, AppliedBy, UnixMicros.ToTime(AppliedAt));
    }
}
