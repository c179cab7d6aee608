using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Credentials;
using Writ.Core.Secrets;
using Writ.Core.Tasks;

namespace Writ.Core.Storage;

// The I/O seam between the domain and the two storage engines (SQLite, PostgreSQL).
// Every method is one transaction: either all of it is written or none of it.

public interface IAgentStore
{
    /// <summary>Inserts or updates the declared agents (kind, owner, roles, description). Status and keys are kept.</summary>
    Task UpsertAsync(IReadOnlyList<Agent> agents, CancellationToken ct);

    Task<Agent?> GetAsync(string agentId, CancellationToken ct);

    Task<IReadOnlyList<Agent>> ListAsync(CancellationToken ct);

    /// <summary>
    /// Sets the agent's status and, when <paramref name="revokeCredentialsAt"/> is given, revokes its live credentials in
    /// the same transaction (a suspension that stopped half way would leave tokens that a resume brings back).
    /// Returns false, and changes nothing, when the agent does not exist.
    /// </summary>
    Task<bool> SetStatusAsync(string agentId, string status, DateTimeOffset? revokeCredentialsAt, CancellationToken ct);

    Task TouchLastSeenAsync(string agentId, DateTimeOffset at, CancellationToken ct);

    Task AddEnrollmentCodeAsync(EnrollmentCode code, CancellationToken ct);

    /// <summary>
    /// Consumes the enrollment code and registers the key in one transaction. Errors:
    /// <c>enroll.invalid_code</c> (unknown), <c>enroll.code_expired</c>, <c>enroll.code_used</c>,
    /// <c>enroll.key_exists</c> (thumbprint already enrolled). On error nothing is written:
    /// a used or expired code stays as it was. On success the record <paramref name="audit"/> makes of the agent and
    /// its new key is appended to the audit log in the same transaction (invariant 7: no enrollment without its record).
    /// </summary>
    Task<Result<AgentKey>> EnrollAsync(string codeHash, string thumbprint, string publicJwk, DateTimeOffset now, Func<Agent, AgentKey, AuditEvent> audit, CancellationToken ct);

    Task<AgentKey?> GetKeyAsync(string thumbprint, CancellationToken ct);

    /// <summary>
    /// The enrolled key with its agent and, when <paramref name="taskId"/> names one of that agent's tasks, the
    /// task — in one read, because every credential request needs all three on its hot path.
    /// Null when the key is not enrolled.
    /// </summary>
    Task<KeyHolder?> GetKeyHolderAsync(string thumbprint, string? taskId, CancellationToken ct);

    Task<IReadOnlyList<AgentKey>> ListKeysAsync(string agentId, CancellationToken ct);
}

/// <summary>An enrolled key, the agent that holds it, and one of the agent's tasks if one was asked for.</summary>
public sealed record KeyHolder(AgentKey Key, Agent Agent, WorkTask? Task);

public interface ITaskStore
{
    /// <summary>Stores a new open task with the record <paramref name="audit"/> (its opening) in the same transaction.</summary>
    Task CreateAsync(WorkTask task, AuditEvent? audit, CancellationToken ct);

    Task<WorkTask?> GetAsync(string taskId, CancellationToken ct);

    /// <summary>
    /// Marks an open task completed, revokes its credentials and appends <paramref name="audit"/>, in one transaction
    /// (invariant 7: the change and its record together). False, and nothing written, if it was not open.
    /// </summary>
    Task<bool> CompleteAsync(string taskId, DateTimeOffset now, AuditEvent? audit, CancellationToken ct);

    /// <summary>
    /// Marks every open task whose expiry has passed as expired (revoking its credentials), with the record
    /// <paramref name="audit"/> makes for each, in one transaction; returns their ids.
    /// </summary>
    Task<IReadOnlyList<string>> ExpireDueAsync(DateTimeOffset now, Func<string, AuditEvent>? audit, CancellationToken ct);

    Task<IReadOnlyList<WorkTask>> ListAsync(string? agentId, string? status, int limit, CancellationToken ct);
}

public interface ICredentialStore
{
    Task<IssuedCredential?> GetAsync(string jti, CancellationToken ct);

    /// <summary>
    /// Revokes one credential, with the record <paramref name="audit"/> makes of the outcome (true: revoked now) in the
    /// same transaction. Idempotent: revoking an already revoked or unknown jti is success (returns false).
    /// </summary>
    Task<bool> RevokeAsync(string jti, DateTimeOffset now, Func<bool, AuditEvent>? audit, CancellationToken ct);

    /// <summary>Revokes every unexpired credential of the agent; returns how many.</summary>
    Task<int> RevokeByAgentAsync(string agentId, DateTimeOffset now, CancellationToken ct);

    Task<IReadOnlyList<IssuedCredential>> ListActiveAsync(string? agentId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Active (unrevoked, unexpired) credential counts per agent, for the inventory.</summary>
    Task<IReadOnlyDictionary<string, int>> CountActiveByAgentAsync(DateTimeOffset now, CancellationToken ct);
}

/// <summary>An applied policy version: the source documents as applied, their SHA-256, who applied it and when.</summary>
public sealed record PolicyVersionRecord(int Version, string Sha256, string Source, string AppliedBy, DateTimeOffset AppliedAt);

public interface IPolicyStore
{
    /// <summary>
    /// Stores a new version and returns it with its number (1, 2, …); in the same transaction, brings the agents of
    /// <paramref name="inventory"/> in (as <see cref="IAgentStore.UpsertAsync"/>) and appends the record
    /// <paramref name="audit"/> makes of the version: a version is never stored without them.
    /// </summary>
    Task<PolicyVersionRecord> AddVersionAsync(string sha256, string source, string appliedBy, DateTimeOffset now,
        IReadOnlyList<Agent> inventory, Func<PolicyVersionRecord, AuditEvent>? audit, CancellationToken ct);

    Task<PolicyVersionRecord?> GetLatestAsync(CancellationToken ct);

    Task<PolicyVersionRecord?> GetAsync(int version, CancellationToken ct);

    /// <summary>All versions, newest first, without their source.</summary>
    Task<IReadOnlyList<PolicyVersionRecord>> ListAsync(CancellationToken ct);
}

/// <summary>
/// What one audit append carries: the event, and for an issuance the credential record written in the same commit.
/// <paramref name="Proof"/>: the DPoP proof an allow decision rests on, for an appender that sees other processes'
/// proofs (the server, for a standalone gateway's records): one already used elsewhere turns the decision into a deny.
/// </summary>
public sealed record AuditAppend(AuditEvent Event, IssuedCredential? Credential = null, ProofUse? Proof = null);

/// <summary>One use of a DPoP proof: its key's thumbprint, its <c>jti</c> and its <c>iat</c>.</summary>
public sealed record ProofUse(string Jkt, string Jti, DateTimeOffset IssuedAt);

/// <summary>Where the group-committing audit writer sends its batches: the audit store, or (in a standalone gateway) the server.</summary>
public interface IAuditAppender
{
    /// <summary>
    /// Appends a batch in one durable transaction: reads the chain head under a lock (so several
    /// replicas cannot fork the chain), links each event with <c>AuditChain</c>, inserts the events and
    /// any credentials, commits. Returns the chained records in order. Throws on failure: the caller fails closed.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct);
}

public interface IAuditStore : IAuditAppender
{

    Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct);

    /// <summary>Streams every record in sequence order, for verify and export.</summary>
    IAsyncEnumerable<AuditRecord> ReadAllAsync(CancellationToken ct);

    Task<AuditRecord?> GetHeadAsync(CancellationToken ct);

    Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct);

    Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct);
}

/// <summary>A token-signing key. The private key is sealed under the master key (AES-256-GCM); the public JWK is served in JWKS.</summary>
public sealed record SigningKeyRecord(string KeyId, byte[] SealedPrivateKey, string PublicJwk, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt);

public interface ISigningKeyStore
{
    Task AddAsync(SigningKeyRecord key, CancellationToken ct);

    /// <summary>All keys, newest first.</summary>
    Task<IReadOnlyList<SigningKeyRecord>> ListAsync(CancellationToken ct);

    Task RetireAsync(string keyId, DateTimeOffset at, CancellationToken ct);

    /// <summary>
    /// Adds <paramref name="key"/> as the one active key: every other unretired key is retired at <paramref name="now"/>, and
    /// the record <paramref name="audit"/> makes is appended, all in one transaction (a rotation is never half done or unaudited).
    /// </summary>
    Task RotateAsync(SigningKeyRecord key, DateTimeOffset now, AuditEvent audit, CancellationToken ct);
}

/// <summary>A human admin access token, stored as its SHA-256.</summary>
public sealed record AdminToken(string TokenHash, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public interface IAdminTokenStore
{
    Task AddAsync(AdminToken token, CancellationToken ct);

    Task<AdminToken?> FindAsync(string tokenHash, CancellationToken ct);

    /// <summary>Revokes every unrevoked token named <paramref name="name"/>; returns how many.</summary>
    /// <remarks>The record <paramref name="audit"/> makes of the count commits in the same transaction.</remarks>
    Task<int> RevokeByNameAsync(string name, DateTimeOffset now, Func<int, AuditEvent>? audit, CancellationToken ct);
}

/// <summary>
/// Upstream secrets the gateway injects (DESIGN invariant 4). Values arrive sealed (<see cref="SecretRules.Seal"/>); the
/// store never sees a plaintext. Every version is kept; a rotation adds a version, it never overwrites one.
/// </summary>
public interface ISecretStore
{
    /// <summary>
    /// Adds the next version of <paramref name="name"/> in one transaction, serialised against other writers of secrets:
    /// reads the current latest version, calls <paramref name="seal"/> with the new version number (so the sealed value
    /// binds it), inserts. With <paramref name="create"/> the secret must not exist yet (else <c>secret.conflict</c>);
    /// without it the secret must exist (else <c>secret.not_found</c>). On error nothing is written. On success the
    /// record <paramref name="audit"/> makes of the new version is appended to the audit log in the same transaction.
    /// </summary>
    Task<Result<SecretVersionMetadata>> AddVersionAsync(string name, bool create, Func<int, byte[]> seal, string createdBy, DateTimeOffset now,
        Func<SecretVersionMetadata, AuditEvent> audit, CancellationToken ct);

    /// <summary>The newest version, or the given one; null when there is none.</summary>
    Task<SecretVersion?> GetAsync(string name, int? version, CancellationToken ct);

    Task<SecretMetadata?> GetMetadataAsync(string name, CancellationToken ct);

    /// <summary>Every secret by name, with its versions oldest first.</summary>
    Task<IReadOnlyList<SecretMetadata>> ListAsync(CancellationToken ct);
}

/// <summary>All stores of one engine, opened on one connection string, with migrations applied.</summary>
public interface IWritStore : IAsyncDisposable
{
    string Engine { get; }

    IAgentStore Agents { get; }

    ITaskStore Tasks { get; }

    ICredentialStore Credentials { get; }

    IPolicyStore Policies { get; }

    IAuditStore Audit { get; }

    ISigningKeyStore SigningKeys { get; }

    IAdminTokenStore AdminTokens { get; }

    ISecretStore Secrets { get; }

    IUserStore Users { get; }

    IApprovalStore Approvals { get; }

    IWebhookStore Webhooks { get; }
}
