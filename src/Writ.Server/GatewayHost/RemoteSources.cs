using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.GatewayApi;
using Writ.Server.Secrets;

namespace Writ.Server.GatewayHost;

/// <summary>A token's liveness as the server reads it, one call per cache miss (the <see cref="StatusView"/> in front remembers it while the feed allows).</summary>
internal sealed class RemoteLiveness(ServerLink link) : ILivenessSource
{
    public async Task<Liveness> ReadAsync(string jti, string taskId, string agentId, CancellationToken ct)
    {
        var answer = await link.GetLivenessAsync(new LivenessRequest(jti, taskId, agentId), ct);
        return new Liveness(answer.CredentialLive, answer.Task, answer.Agent);
    }
}

/// <summary>
/// The gateway's audit records go to the server in the batches the <see cref="AuditWriter"/> groups, and count as
/// written once the server has answered that they are durable.
/// </summary>
internal sealed class RemoteAuditAppender(ServerLink link) : IAuditAppender
{
    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct)
    {
        var proofs = batch.Any(b => b.Proof is not null) ? batch.Select(b => b.Proof).ToList() : null;
        var answer = await link.AppendAuditAsync(new AuditBatch(batch.Select(b => b.Event).ToList(), proofs), ct);
        if (answer.Records.Count != batch.Count) throw new InvalidOperationException($"the server recorded {answer.Records.Count} events of {batch.Count}");
        return batch.Select((b, i) =>
        {
            var r = answer.Records[i];
            // The server saw the proof before (another gateway, or itself): it recorded a deny, and the call is refused.
            var e = r.Replayed ? b.Event with { Decision = Decisions.Deny, Reason = DpopErrors.Replayed } : b.Event;
            return new AuditRecord(r.Seq, e, r.PrevHash, r.Hash);
        }).ToList();
    }
}

/// <summary>
/// Upstream secrets fetched from the server (each fetch audited there as <c>secret.read</c>) and kept in memory at
/// the version the feed names; a rotation, announced by the feed, makes the next call fetch the new version.
/// </summary>
internal sealed class RemoteSecrets(ServerLink link) : IUpstreamSecrets
{
    private readonly ConcurrentDictionary<string, (int Version, byte[] Value)> _held = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, int> _latest = new Dictionary<string, int>();

    /// <summary>Applies the newest versions from the feed: a secret held at another version (or gone) is dropped.</summary>
    public void Apply(IReadOnlyDictionary<string, int> latest)
    {
        _latest = latest;
        foreach (var (name, held) in _held)
        {
            if (latest.TryGetValue(name, out var v) && v == held.Version) continue;
            if (_held.TryRemove(name, out var dropped)) CryptographicOperations.ZeroMemory(dropped.Value);
        }
    }

    public async Task<byte[]?> OpenLatestAsync(string name, CancellationToken ct)
    {
        if (_held.TryGetValue(name, out var held) && _latest.TryGetValue(name, out var v) && v == held.Version) return (byte[])held.Value.Clone();
        var secret = await link.GetSecretAsync(name, ct);
        if (secret is null) return null;
        var value = Encoding.UTF8.GetBytes(secret.Value);
        // Kept only if it is the version the feed last named; a newer one is fetched again on the next call.
        if (_latest.TryGetValue(name, out var latest) && latest == secret.Version) _held[name] = (secret.Version, (byte[])value.Clone());
        return value;
    }
}
