using Dapper;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class SigningKeyStore(Engine engine) : ISigningKeyStore
{
    public Task AddAsync(SigningKeyRecord key, CancellationToken ct) => engine.WriteAsync((c, tx) => InsertAsync(c, tx, key, ct), ct);

    public Task RotateAsync(SigningKeyRecord key, DateTimeOffset now, AuditEvent audit, CancellationToken ct) =>
        engine.WriteAuditedAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(new CommandDefinition("UPDATE signing_keys SET retired_at = @at WHERE retired_at IS NULL",
                new { at = UnixMicros.From(now) }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return await InsertAsync(c, tx, key, ct).ConfigureAwait(false);
        }, _ => audit, ct);

    private static Task<int> InsertAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, SigningKeyRecord key, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO signing_keys (key_id, sealed_private_key, public_jwk, created_at, retired_at) VALUES (@KeyId, @SealedPrivateKey, @PublicJwk, @CreatedAt, @RetiredAt)",
            new
            {
                key.KeyId,
                key.SealedPrivateKey,
                key.PublicJwk,
                CreatedAt = UnixMicros.From(key.CreatedAt),
                RetiredAt = key.RetiredAt is { } r ? UnixMicros.From(r) : (long?)null,
            }, tx, cancellationToken: ct));

    public async Task<IReadOnlyList<SigningKeyRecord>> ListAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<KeyRow>(new CommandDefinition(
            "SELECT key_id AS KeyId, sealed_private_key AS SealedPrivateKey, public_jwk AS PublicJwk, created_at AS CreatedAt, retired_at AS RetiredAt " +
            "FROM signing_keys ORDER BY created_at DESC, key_id DESC", cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => new SigningKeyRecord(r.KeyId, r.SealedPrivateKey, r.PublicJwk, UnixMicros.ToTime(r.CreatedAt),
            r.RetiredAt is { } t ? UnixMicros.ToTime(t) : null)).ToList();
    }

    /// <summary>Keeps the first retirement time when called twice.</summary>
    public Task RetireAsync(string keyId, DateTimeOffset at, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "UPDATE signing_keys SET retired_at = @at WHERE key_id = @keyId AND retired_at IS NULL",
            new { keyId, at = UnixMicros.From(at) }, tx, cancellationToken: ct)), ct);

    private sealed class KeyRow
    {
        public string KeyId { get; set; } = "";
        public byte[] SealedPrivateKey { get; set; } = [];
        public string PublicJwk { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? RetiredAt { get; set; }
    }
}

internal sealed class AdminTokenStore(Engine engine) : IAdminTokenStore
{
    public Task AddAsync(AdminToken token, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO admin_tokens (token_hash, name, created_at, revoked_at) VALUES (@TokenHash, @Name, @CreatedAt, @RevokedAt)",
            new
            {
                token.TokenHash,
                token.Name,
                CreatedAt = UnixMicros.From(token.CreatedAt),
                RevokedAt = token.RevokedAt is { } r ? UnixMicros.From(r) : (long?)null,
            }, tx, cancellationToken: ct)), ct);

    public async Task<AdminToken?> FindAsync(string tokenHash, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<TokenRow>(new CommandDefinition(
            "SELECT token_hash AS TokenHash, name AS Name, created_at AS CreatedAt, revoked_at AS RevokedAt FROM admin_tokens WHERE token_hash = @tokenHash",
            new { tokenHash }, cancellationToken: ct)).ConfigureAwait(false);
        return row is null ? null : new AdminToken(row.TokenHash, row.Name, UnixMicros.ToTime(row.CreatedAt), row.RevokedAt is { } t ? UnixMicros.ToTime(t) : null);
    }

    public Task<int> RevokeByNameAsync(string name, DateTimeOffset now, Func<int, AuditEvent>? audit, CancellationToken ct) =>
        engine.WriteAuditedAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "UPDATE admin_tokens SET revoked_at = @now WHERE name = @name AND revoked_at IS NULL",
            new { name, now = UnixMicros.From(now) }, tx, cancellationToken: ct)), revoked => audit?.Invoke(revoked), ct);

    private sealed class TokenRow
    {
        public string TokenHash { get; set; } = "";
        public string Name { get; set; } = "";
        public long CreatedAt { get; set; }
        public long? RevokedAt { get; set; }
    }
}
