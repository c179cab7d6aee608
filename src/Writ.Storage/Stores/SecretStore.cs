using Dapper;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Secrets;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class SecretStore(Engine engine) : ISecretStore
{
    private const string Columns = "name AS Name, version AS Version, created_by AS CreatedBy, created_at AS CreatedAt";

    public Task<Result<SecretVersionMetadata>> AddVersionAsync(string name, bool create, Func<int, byte[]> seal, string createdBy, DateTimeOffset now,
        Func<SecretVersionMetadata, AuditEvent> audit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(seal);
        ArgumentNullException.ThrowIfNull(audit);
        var at = UnixMicros.From(now);
        return engine.WriteAuditedAsync<Result<SecretVersionMetadata>>(async (c, tx) =>
        {
            // Two rotations at once must not both take the same number (the primary key would refuse the second anyway).
            if (engine.SerializeSql("writ.secret_versions") is { } serialize)
            {
                await c.ExecuteAsync(new CommandDefinition(serialize, transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            var latest = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COALESCE(MAX(version), 0) FROM secret_versions WHERE name = @name", new { name }, tx, cancellationToken: ct)).ConfigureAwait(false);
            if (create && latest > 0) return new Error("secret.conflict", $"the secret {name} exists; rotate it to store a new version");
            if (!create && latest == 0) return new Error("secret.not_found", $"no secret {name}");
            var version = checked((int)latest + 1);
            var sealedValue = seal(version);
            await c.ExecuteAsync(new CommandDefinition(
                "INSERT INTO secret_versions (name, version, sealed_value, created_by, created_at) VALUES (@name, @version, @sealedValue, @createdBy, @at)",
                new { name, version = (long)version, sealedValue, createdBy, at }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return new SecretVersionMetadata(version, createdBy, UnixMicros.ToTime(at));
        }, written => written.IsSuccess ? audit(written.Value) : null, ct);
    }

    public async Task<SecretVersion?> GetAsync(string name, int? version, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns}, sealed_value AS SealedValue FROM secret_versions WHERE name = @name AND (@version IS NULL OR version = @version) " +
            "ORDER BY version DESC LIMIT 1",
            new { name, version = (long?)version }, cancellationToken: ct)).ConfigureAwait(false);
        return row is null ? null : new SecretVersion(row.Name, checked((int)row.Version), row.SealedValue, row.CreatedBy, UnixMicros.ToTime(row.CreatedAt));
    }

    public async Task<SecretMetadata?> GetMetadataAsync(string name, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM secret_versions WHERE name = @name ORDER BY version", new { name }, cancellationToken: ct)).ConfigureAwait(false);
        var versions = rows.Select(ToMetadata).ToList();
        return versions.Count == 0 ? null : new SecretMetadata(name, versions);
    }

    public async Task<IReadOnlyList<SecretMetadata>> ListAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM secret_versions ORDER BY name, version", cancellationToken: ct)).ConfigureAwait(false);
        // Ordinal order in code: the engines' collations order names differently.
        return rows.GroupBy(r => r.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SecretMetadata(g.Key, g.OrderBy(r => r.Version).Select(ToMetadata).ToList()))
            .ToList();
    }

    private static SecretVersionMetadata ToMetadata(Row r) => new(checked((int)r.Version), r.CreatedBy, UnixMicros.ToTime(r.CreatedAt));

    private sealed class Row
    {
        public string Name { get; set; } = "";
        public long Version { get; set; }
        public byte[] SealedValue { get; set; } = [];
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
    }
}
