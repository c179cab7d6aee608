using System.Collections.Concurrent;
using System.Security.Cryptography;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Secrets;
using Writ.Core.Storage;

namespace Writ.Server.Secrets;

/// <summary>
/// Upstream secrets under envelope encryption (DESIGN invariant 4): each version sealed under its own data key,
/// wrapped by the master key, with associated data binding name and version. The plaintext exists only in memory,
/// on its way in (put, rotate) and on its way to an upstream (the gateway); it is never returned to a caller.
/// </summary>
internal sealed class SecretVault(IWritStore store, MasterKey masterKey, TimeProvider clock, GatewayApi.GatewayFeed feed) : IUpstreamSecrets
{
    /// <summary>
    /// The newest version of each secret as stored, still sealed, so the gateway does not read the database on every
    /// call. Only where this process is the database's only writer (SQLite): a rotation is a write through this vault,
    /// which drops the cache once it has committed. With PostgreSQL another replica may rotate, so every call reads.
    /// </summary>
    private readonly ConcurrentDictionary<string, (long Generation, SecretVersion Sealed)> _latest = new(StringComparer.Ordinal);
    private readonly bool _cacheSealed = store.Engine == "sqlite";
    private long _generation;

    /// <summary>
    /// Stores version 1 of a new secret (<paramref name="create"/>; <c>secret.conflict</c> if it exists) or the next version
    /// of an existing one (<c>secret.not_found</c> if there is none; old versions stay). The version and the audit record
    /// <paramref name="audit"/> makes of it commit together.
    /// </summary>
    public Task<Result<SecretVersionMetadata>> AddAsync(string name, string value, bool create, string actor, Func<SecretVersionMetadata, AuditEvent> audit, CancellationToken ct)
    {
        if (SecretRules.CheckName(name) is { } badName) return Task.FromResult(Result<SecretVersionMetadata>.Fail(badName));
        if (SecretRules.CheckValue(value) is { } badValue) return Task.FromResult(Result<SecretVersionMetadata>.Fail(badValue));
        return Invalidating(store.Secrets.AddVersionAsync(name, create, version => SecretRules.Seal(masterKey, name, version, value), actor, clock.GetUtcNow(), audit, ct));
    }

    private async Task<T> Invalidating<T>(Task<T> write)
    {
        try { return await write; }
        finally
        {
            Interlocked.Increment(ref _generation);
            _latest.Clear();
            Gateway.SecretMatcher.Forget();
            await feed.PublishAsync(); // standalone gateways re-read the rotated secret
        }
    }

    /// <summary>
    /// The newest value of <paramref name="name"/> as UTF-8 bytes, for injection into an upstream request; the caller
    /// zeroes them when done. Null when there is no such secret. Throws <see cref="CryptographicException"/> when the
    /// stored value does not open (another master key, or tampered with): infrastructure failure, never bad input.
    /// </summary>
    public async Task<byte[]?> OpenLatestAsync(string name, CancellationToken ct)
    {
        // The generation is read before the store, so a version read while a rotation commits is never served after it.
        var generation = Volatile.Read(ref _generation);
        if (_cacheSealed && _latest.TryGetValue(name, out var cached) && cached.Generation == generation) return SecretRules.Open(masterKey, cached.Sealed);
        var stored = await store.Secrets.GetAsync(name, null, ct);
        if (stored is null) return null;
        if (_cacheSealed) _latest[name] = (generation, stored);
        return SecretRules.Open(masterKey, stored);
    }
}

/// <summary>Where the gateway gets the upstream credential it injects: the vault on the server, the server in a standalone gateway.</summary>
internal interface IUpstreamSecrets
{
    /// <summary>The newest value of <paramref name="name"/> as UTF-8 bytes (the caller zeroes them); null when there is no such secret.</summary>
    Task<byte[]?> OpenLatestAsync(string name, CancellationToken ct);
}
