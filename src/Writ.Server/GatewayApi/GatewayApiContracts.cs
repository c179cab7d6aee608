using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Core.Tasks;

namespace Writ.Server.GatewayApi;

// What a standalone gateway and the server say to each other (JSON, snake_case, WritJson.Options).

/// <summary>
/// The state a gateway works from, as of <paramref name="Version"/> of the feed.
/// <paramref name="Cacheable"/>: whether the gateway may remember liveness between changes (false when the server is
/// not its database's only writer: another replica's revocation would not reach this feed).
/// <paramref name="Secrets"/>: each secret's newest version, so a gateway re-reads only what was rotated.
/// <paramref name="Epoch"/> names the server's run (versions restart with it); <paramref name="Now"/> is the server's clock,
/// which the gateway's must match (it checks token expiry and task deadlines with its own).
/// <paramref name="Environment"/>: the one environment this gateway's token lets it serve, or null for all.
/// </summary>
internal sealed record GatewayState(string Epoch, long Version, DateTimeOffset Now, string Issuer, string? Environment, bool Cacheable, int? PolicyVersion, string Jwks, IReadOnlyDictionary<string, int> Secrets);

internal sealed record GatewayPolicy(int Version, string Sha256, string Source);

internal sealed record LivenessRequest(string Jti, string TaskId, string AgentId);

internal sealed record LivenessAnswer(bool CredentialLive, WorkTask? Task, Agent? Agent);

internal sealed record GatewaySecret(string Name, int Version, string Value);

/// <param name="Proofs">When given, one entry per event: the DPoP proof an allow decision rests on, or null.</param>
internal sealed record AuditBatch(IReadOnlyList<AuditEvent> Events, IReadOnlyList<ProofUse?>? Proofs = null);

/// <summary>Where each event of the batch landed in the chain, in order.</summary>
internal sealed record AuditBatchAnswer(IReadOnlyList<AuditBatchRecord> Records);

/// <param name="Replayed">The event's proof had been used before: it was recorded as a deny (<c>dpop.replayed</c>) instead.</param>
internal sealed record AuditBatchRecord(long Seq, string PrevHash, string Hash, bool Replayed = false);
