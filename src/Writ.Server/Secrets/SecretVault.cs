using System.Security.Cryptography;
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
internal sealed class SecretVault(IWritStore store, MasterKey masterKey, TimeProvider clock)
{
    /// <summary>Stores version 1 of a new secret; <c>secret.conflict</c> if it exists (rotate it instead).</summary>
    public Task<Result<SecretVersionMetadata>> CreateAsync(string name, string value, string actor, CancellationToken ct) =>
        AddAsync(name, value, create: true, actor, ct);

    /// <summary>Adds the next version of an existing secret; <c>secret.not_found</c> if there is none. Old versions stay.</summary>
    public Task<Result<SecretVersionMetadata>> RotateAsync(string name, string value, string actor, CancellationToken ct) =>
        AddAsync(name, value, create: false, actor, ct);

    private Task<Result<SecretVersionMetadata>> AddAsync(string name, string value, bool create, string actor, CancellationToken ct)
    {
        if (SecretRules.CheckName(name) is { } badName) return Task.FromResult(Result<SecretVersionMetadata>.Fail(badName));
        if (SecretRules.CheckValue(value) is { } badValue) return Task.FromResult(Result<SecretVersionMetadata>.Fail(badValue));
        return store.Secrets.AddVersionAsync(name, create, version => SecretRules.Seal(masterKey, name, version, value), actor, clock.GetUtcNow(), ct);
    }

    /// <summary>
    /// The newest value of <paramref name="name"/> as UTF-8 bytes, for injection into an upstream request; the caller
    /// zeroes them when done. Null when there is no such secret. Throws <see cref="CryptographicException"/> when the
    /// stored value does not open (another master key, or tampered with): infrastructure failure, never bad input.
    /// </summary>
    public async Task<byte[]?> OpenLatestAsync(string name, CancellationToken ct)
    {
        var stored = await store.Secrets.GetAsync(name, null, ct);
        return stored is null ? null : SecretRules.Open(masterKey, stored);
    }
}
