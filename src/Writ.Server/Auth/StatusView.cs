using System.Collections.Concurrent;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Core.Tasks;

namespace Writ.Server.Auth;

/// <summary>What a token's liveness depends on besides its signature: its credential row, its task and its agent.</summary>
internal sealed record Liveness(bool CredentialLive, WorkTask? Task, Agent? Agent);

/// <summary>Where <see cref="StatusView"/> reads liveness from: the store on the server, the server in a standalone gateway.</summary>
internal interface ILivenessSource
{
    Task<Liveness> ReadAsync(string jti, string taskId, string agentId, CancellationToken ct);
}

internal sealed class StoreLivenessSource(IWritStore store) : ILivenessSource
{
    public async Task<Liveness> ReadAsync(string jti, string taskId, string agentId, CancellationToken ct)
    {
        var credential = await store.Credentials.GetAsync(jti, ct);
        var task = await store.Tasks.GetAsync(taskId, ct);
        var agent = await store.Agents.GetAsync(agentId, ct);
        return new Liveness(credential is not null && credential.RevokedAt is null, task, agent);
    }
}

/// <summary>
/// What a presented token's liveness depends on besides its signature and expiry: its credential row (revoked?),
/// its task and its agent. Reading those is three store round trips, on every gateway call. This view remembers
/// them per <c>jti</c> and throws everything away whenever any of them may have changed: every write that can
/// revoke (credential revocation, task completion or expiry, agent status or policy) goes through
/// <see cref="StatusTrackingStore"/>, which bumps <see cref="Generation"/> once the write has committed, so the next
/// call re-reads the store (invariant 9: revocation takes effect on the next call).
/// <para>
/// Only sound when this process is the only writer of the database: on for SQLite (one server per database
/// file), off for PostgreSQL, where another replica's revocation would not bump this one's generation. Time-based
/// closure (a task past its expiry) is evaluated by the caller on every call, never cached.
/// </para>
/// </summary>
internal sealed class StatusView(ILivenessSource source, bool enabled, int capacity = 10_000)
{
    private readonly ConcurrentDictionary<string, Snapshot> _byJti = new(StringComparer.Ordinal);
    private long _generation;
    private volatile bool _enabled = enabled;

    public StatusView(IWritStore store, bool enabled, int capacity = 10_000) : this(new StoreLivenessSource(store), enabled, capacity)
    {
    }

    /// <summary>The credential's revocation state, its task and its agent as read at <see cref="Generation"/>.</summary>
    public sealed record Snapshot(long Generation, bool CredentialLive, WorkTask? Task, Agent? Agent);

    /// <summary>
    /// Whether snapshots are remembered. A standalone gateway turns it off while its feed from the server is down (and
    /// when the server is not the database's only writer), so that every call then asks the server.
    /// </summary>
    public bool Enabled
    {
        get => _enabled;
        set
        {
            _enabled = value;
            Invalidate();
        }
    }

    public long Generation => Volatile.Read(ref _generation);

    /// <summary>Called after every committed write that may change a token's liveness.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _byJti.Clear();
    }

    public async Task<Snapshot> GetAsync(string jti, string taskId, string agentId, CancellationToken ct)
    {
        // Read the generation before the store: a write that commits while we read bumps it after its commit,
        // so a snapshot that might predate the write is stored under an already-stale generation and never served.
        var generation = Generation;
        if (_enabled && _byJti.TryGetValue(jti, out var cached) && cached.Generation == generation) return cached;

        var read = await source.ReadAsync(jti, taskId, agentId, ct);
        var snapshot = new Snapshot(generation, read.CredentialLive, read.Task, read.Agent);
        if (_enabled)
        {
            if (_byJti.Count >= capacity) _byJti.Clear();
            _byJti[jti] = snapshot;
        }
        return snapshot;
    }
}

/// <summary>
/// The store the server's features use: every call passes through unchanged, and each write that can change a token's
/// liveness calls <paramref name="changed"/> after it returns (or throws: a failed write may still have committed), and
/// returns once that has run: it is where standalone gateways are told (<see cref="GatewayApi.GatewayFeed"/>).
/// A new write method on these interfaces will not compile here until someone decides whether it revokes.
/// </summary>
internal sealed class StatusTrackingStore(IWritStore inner, Func<Task> changed) : IWritStore
{
    public string Engine => inner.Engine;

    public IAgentStore Agents { get; } = new TrackedAgents(inner.Agents, changed);

    public ITaskStore Tasks { get; } = new TrackedTasks(inner.Tasks, changed);

    public ICredentialStore Credentials { get; } = new TrackedCredentials(inner.Credentials, changed);

    public IPolicyStore Policies => inner.Policies;

    public IAuditStore Audit => inner.Audit;

    public ISigningKeyStore SigningKeys => inner.SigningKeys;

    public IAdminTokenStore AdminTokens => inner.AdminTokens;

    public ISecretStore Secrets => inner.Secrets;

    // Users and webhooks change no token's liveness; closing an elevation window revokes its credentials.
    public IUserStore Users => inner.Users;

    public IApprovalStore Approvals { get; } = new TrackedApprovals(inner.Approvals, changed);

    public IWebhookStore Webhooks => inner.Webhooks;

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    // Only a write that changed something is announced (an agent could otherwise make every gateway drop its caches by
    // revoking an already-revoked token over and over); one that failed may still have committed, so it is announced.
    private static async Task<bool> Changing(Task<bool> write, Func<Task> changed)
    {
        bool result;
        try { result = await write; }
        catch { await changed(); throw; }
        if (result) await changed();
        return result;
    }

    private static async Task<int> Changing(Task<int> write, Func<Task> changed)
    {
        int result;
        try { result = await write; }
        catch { await changed(); throw; }
        if (result > 0) await changed();
        return result;
    }

    private static async Task Changing(Task write, Func<Task> changed)
    {
        try { await write; }
        finally { await changed(); }
    }

    private sealed class TrackedAgents(IAgentStore a, Func<Task> changed) : IAgentStore
    {
        public Task UpsertAsync(IReadOnlyList<Agent> agents, CancellationToken ct) => Changing(a.UpsertAsync(agents, ct), changed);
        public Task<Agent?> GetAsync(string agentId, CancellationToken ct) => a.GetAsync(agentId, ct);
        public Task<IReadOnlyList<Agent>> ListAsync(CancellationToken ct) => a.ListAsync(ct);
        public Task<bool> SetStatusAsync(string agentId, string status, DateTimeOffset? revokeCredentialsAt, CancellationToken ct) =>
            Changing(a.SetStatusAsync(agentId, status, revokeCredentialsAt, ct), changed);
        // Last-seen and enrollment change nothing an issued token depends on.
        public Task TouchLastSeenAsync(string agentId, DateTimeOffset at, CancellationToken ct) => a.TouchLastSeenAsync(agentId, at, ct);
        public Task AddEnrollmentCodeAsync(EnrollmentCode code, CancellationToken ct) => a.AddEnrollmentCodeAsync(code, ct);
        public Task<Result<AgentKey>> EnrollAsync(string codeHash, string thumbprint, string publicJwk, DateTimeOffset now,
            Func<Agent, AgentKey, AuditEvent> audit, CancellationToken ct) =>
            a.EnrollAsync(codeHash, thumbprint, publicJwk, now, audit, ct);
        public Task<AgentKey?> GetKeyAsync(string thumbprint, CancellationToken ct) => a.GetKeyAsync(thumbprint, ct);
        public Task<KeyHolder?> GetKeyHolderAsync(string thumbprint, string? taskId, CancellationToken ct) => a.GetKeyHolderAsync(thumbprint, taskId, ct);
        public Task<IReadOnlyList<AgentKey>> ListKeysAsync(string agentId, CancellationToken ct) => a.ListKeysAsync(agentId, ct);
    }

    private sealed class TrackedTasks(ITaskStore t, Func<Task> changed) : ITaskStore
    {
        // A new task changes no issued token.
        public Task CreateAsync(WorkTask task, AuditEvent? audit, CancellationToken ct) => t.CreateAsync(task, audit, ct);
        public Task<WorkTask?> GetAsync(string taskId, CancellationToken ct) => t.GetAsync(taskId, ct);
        public Task<bool> CompleteAsync(string taskId, DateTimeOffset now, AuditEvent? audit, CancellationToken ct) => Changing(t.CompleteAsync(taskId, now, audit, ct), changed);
        public async Task<IReadOnlyList<string>> ExpireDueAsync(DateTimeOffset now, Func<string, AuditEvent>? audit, CancellationToken ct)
        {
            // Runs on a timer: only a sweep that closed something invalidates the view.
            IReadOnlyList<string>? expired = null;
            try { return expired = await t.ExpireDueAsync(now, audit, ct); }
            finally { if (expired is not { Count: 0 }) await changed(); }
        }
        public Task<IReadOnlyList<WorkTask>> ListAsync(string? agentId, string? status, int limit, CancellationToken ct) => t.ListAsync(agentId, status, limit, ct);
    }

    private sealed class TrackedCredentials(ICredentialStore c, Func<Task> changed) : ICredentialStore
    {
        public Task<Core.Credentials.IssuedCredential?> GetAsync(string jti, CancellationToken ct) => c.GetAsync(jti, ct);
        public Task<bool> RevokeAsync(string jti, DateTimeOffset now, Func<bool, AuditEvent>? audit, CancellationToken ct) =>
            Changing(c.RevokeAsync(jti, now, audit, ct), changed);
        public Task<int> RevokeByAgentAsync(string agentId, DateTimeOffset now, CancellationToken ct) => Changing(c.RevokeByAgentAsync(agentId, now, ct), changed);
        public Task<IReadOnlyList<Core.Credentials.IssuedCredential>> ListActiveAsync(string? agentId, DateTimeOffset now, CancellationToken ct) => c.ListActiveAsync(agentId, now, ct);
        public Task<IReadOnlyDictionary<string, int>> CountActiveByAgentAsync(DateTimeOffset now, CancellationToken ct) => c.CountActiveByAgentAsync(now, ct);
    }

    private sealed class TrackedApprovals(IApprovalStore a, Func<Task> changed) : IApprovalStore
    {
        public Task CreateAsync(Core.Approvals.Approval approval, CancellationToken ct) => a.CreateAsync(approval, ct);
        public Task<Core.Approvals.Approval?> GetAsync(string id, CancellationToken ct) => a.GetAsync(id, ct);
        public Task<Core.Approvals.Approval?> FindPendingAsync(Core.Approvals.ApprovalBinding binding, DateTimeOffset now, CancellationToken ct) => a.FindPendingAsync(binding, now, ct);
        public Task<IReadOnlyList<Core.Approvals.Approval>> ListAsync(string? status, int limit, CancellationToken ct) => a.ListAsync(status, limit, ct);
        public Task<int> CountPendingAsync(string agentId, string taskId, DateTimeOffset now, CancellationToken ct) => a.CountPendingAsync(agentId, taskId, now, ct);
        // Deciding or redeeming an approval changes no issued token; expiring a pending one neither.
        public Task<bool> UpdateAsync(Core.Approvals.Approval updated, CancellationToken ct) => a.UpdateAsync(updated, ct);
        public Task<IReadOnlyList<Core.Approvals.Approval>> ExpireDueAsync(DateTimeOffset now, Func<Core.Approvals.Approval, AuditEvent>? audit, CancellationToken ct) =>
            a.ExpireDueAsync(now, audit, ct);
        public async Task<IReadOnlyList<(Core.Approvals.Approval Elevation, int Revoked)>> CloseEndedWindowsAsync(DateTimeOffset now,
            Func<Core.Approvals.Approval, int, AuditEvent>? audit, CancellationToken ct)
        {
            // Runs on a timer: only a sweep that closed a window invalidates the view.
            IReadOnlyList<(Core.Approvals.Approval, int)>? closed = null;
            try { return closed = await a.CloseEndedWindowsAsync(now, audit, ct); }
            finally { if (closed is not { Count: 0 }) await changed(); }
        }
    }
}
