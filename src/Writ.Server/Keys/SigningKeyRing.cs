using System.Security.Cryptography;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Core.Tokens;

namespace Writ.Server.Keys;

/// <summary>
/// The server's ES256 signing keys. The newest unretired key signs; every key retired less than
/// <see cref="Overlap"/> ago still verifies, so tokens signed before a rotation work until they expire.
/// Private keys are stored sealed under the master key (AES-256-GCM envelope).
/// </summary>
internal sealed class SigningKeyRing(IWritStore store, MasterKey masterKey, TimeProvider clock, GatewayApi.GatewayFeed feed) : IDisposable
{
    /// <summary>Longest token lifetime (8 h cap) plus margin: after this a retired key verifies nothing still valid.</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromHours(8) + TimeSpan.FromMinutes(5);

    private const string AssociatedData = "writ:signing-key";

    private volatile KeySet _keys = new(null, new Dictionary<string, ECDsa>(), "{\"keys\":[]}", []);

    public SigningKey Active => _keys.Active ?? throw new InvalidOperationException("no signing key is loaded");

    public ECDsa? PublicKey(string kid) => _keys.Verifiers.GetValueOrDefault(kid);

    /// <summary>The JWKS document (RFC 7517 §5) with every key that may still verify.</summary>
    public string JwksJson => _keys.Jwks;

    public IReadOnlyList<SigningKeyRecord> Records => _keys.Records;

    /// <summary>Loads the keys; creates the first one when there is none.</summary>
    public async Task LoadAsync(CancellationToken ct)
    {
        var records = await store.SigningKeys.ListAsync(ct);
        if (records.Count == 0)
        {
            await CreateKeyAsync(ct);
            records = await store.SigningKeys.ListAsync(ct);
        }
        Swap(records);
    }

    /// <summary>
    /// Makes a new active key and retires every other (they keep verifying for <see cref="Overlap"/>), with the record
    /// <paramref name="audit"/> makes of the new key id, in one write: a rotation is never half done or unaudited.
    /// </summary>
    public async Task<string> RotateAsync(Func<string, AuditEvent> audit, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var key = NewKeyRecord(now);
        await store.SigningKeys.RotateAsync(key, now, audit(key.KeyId), ct);
        Swap(await store.SigningKeys.ListAsync(ct));
        await feed.PublishAsync(); // standalone gateways verify with the new key set
        return key.KeyId;
    }

    private Task CreateKeyAsync(CancellationToken ct) => store.SigningKeys.AddAsync(NewKeyRecord(clock.GetUtcNow()), ct);

    private SigningKeyRecord NewKeyRecord(DateTimeOffset now)
    {
        using var key = SigningKey.Generate();
        var sealedKey = masterKey.Seal(key.ExportPkcs8(), AssociatedData + ":" + key.KeyId);
        return new SigningKeyRecord(key.KeyId, sealedKey, key.PublicJwk, now, null);
    }

    private void Swap(IReadOnlyList<SigningKeyRecord> records)
    {
        var now = clock.GetUtcNow();
        SigningKey? active = null;
        var verifiers = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        var jwks = new List<string>();
        foreach (var record in records.OrderByDescending(r => r.CreatedAt))
        {
            if (record.RetiredAt is { } retired && now - retired > Overlap) continue;
            if (record.RetiredAt is null && active is null)
            {
                // Only the signing key's private half is ever unsealed; retired keys verify from their public JWK.
                var pkcs8 = masterKey.Open(record.SealedPrivateKey, AssociatedData + ":" + record.KeyId);
                active = SigningKey.FromPkcs8(record.KeyId, pkcs8);
                CryptographicOperations.ZeroMemory(pkcs8);
                verifiers[record.KeyId] = active.PublicKey;
            }
            else
            {
                verifiers[record.KeyId] = EcJwk.ImportPublic(record.PublicJwk);
            }
            jwks.Add(record.PublicJwk);
        }
        _keys = new KeySet(active, verifiers, "{\"keys\":[" + string.Join(',', jwks) + "]}", records);
    }

    public void Dispose() => _keys.Active?.Dispose();

    private sealed record KeySet(SigningKey? Active, IReadOnlyDictionary<string, ECDsa> Verifiers, string Jwks, IReadOnlyList<SigningKeyRecord> Records);
}
