using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Credentials;
using Writ.Core.Crypto;
using Writ.Core.Secrets;
using Writ.Core.Storage;
using Writ.Core.Tasks;

namespace Writ.Storage.Tests;

/// <summary>
/// The contract every storage engine honours, written once and run for SQLite and PostgreSQL.
/// Each test gets a fresh, empty database from <see cref="CreateDatabaseAsync"/>.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IWritStore> _opened = [];

    protected string ConnectionString { get; private set; } = "";

    protected IWritStore Store { get; private set; } = null!;

    /// <summary>Creates an empty database and returns its Writ connection string.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>Runs raw SQL against the database, bypassing the stores (to tamper with the audit log).</summary>
    protected abstract Task ExecuteRawAsync(string sql);

    public async Task InitializeAsync()
    {
        ConnectionString = await CreateDatabaseAsync();
        Store = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _opened) await s.DisposeAsync();
    }

    protected async Task<IWritStore> OpenAsync()
    {
        var store = await WritStores.Open(ConnectionString, CancellationToken.None);
        _opened.Add(store);
        return store;
    }

    private static readonly CancellationToken Ct = CancellationToken.None;

    private static Agent NewAgent(string id, params string[] roles) =>
        new(id, AgentKinds.AiAgent, "alice@example.com", roles, "support bot", AgentStatuses.Active, T0, null);

    private static WorkTask NewTask(string id, string agentId, TimeSpan ttl) =>
        new(id, agentId, "fix ticket", "TCK-1", "alice@example.com", TaskStatuses.Open, T0, T0 + ttl, null);

    private static IssuedCredential NewCredential(string jti, string agentId, string taskId, TimeSpan ttl) =>
        new(jti, agentId, taskId, "crm", AgentId.EnvironmentOf(agentId), "crm:read", "customers/1", "thumb-" + agentId, T0, T0 + ttl, null);

    private static AuditEvent NewEvent(int i, string actor = "bot@staging", string? task = null, string decision = Decisions.Allow) =>
        new(T0.AddTicks(i * 10 + 7), ActorKinds.AiAgent, actor, null, task, "token.issue", "crm", "staging", "crm:read", $"customers/{i}",
            decision, decision == Decisions.Deny ? "policy.no_role" : null, 3, 120 + i, "{\"n\":" + i + "}");

    // ---------- migrations ----------

    [Fact]
    public async Task Open_Twice_MigrationsAreIdempotent()
    {
        var second = await OpenAsync();
        Assert.Empty(await second.Agents.ListAsync(Ct));
        Assert.Equal(Store.Engine, second.Engine);
    }

    // ---------- agents ----------

    [Fact]
    public async Task Agents_Upsert_InsertsAndReturnsRolesInOrder()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging", "writer", "reader", "auditor-lite"), NewAgent("bot@production")], Ct);

        var agent = await Store.Agents.GetAsync("bot@staging", Ct);
        Assert.NotNull(agent);
        Assert.Equal(["writer", "reader", "auditor-lite"], agent.Roles);
        Assert.Equal(AgentKinds.AiAgent, agent.Kind);
        Assert.Equal("support bot", agent.Description);
        Assert.Equal(T0, agent.CreatedAt);
        Assert.Null(agent.LastSeenAt);
        Assert.Equal(["bot@production", "bot@staging"], (await Store.Agents.ListAsync(Ct)).Select(a => a.Id));
        Assert.Null(await Store.Agents.GetAsync("ghost@staging", Ct));
    }

    [Fact]
    public async Task Agents_UpsertExisting_UpdatesDeclaredFieldsKeepsStatusAndCreatedAt()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging", "reader")], Ct);
        Assert.True(await Store.Agents.SetStatusAsync("bot@staging", AgentStatuses.Suspended, null, Ct));

        var changed = NewAgent("bot@staging", "writer") with { Owner = "bob@example.com", Description = null, CreatedAt = T0.AddDays(1), Status = AgentStatuses.Active };
        await Store.Agents.UpsertAsync([changed], Ct);

        var agent = await Store.Agents.GetAsync("bot@staging", Ct);
        Assert.NotNull(agent);
        Assert.Equal("bob@example.com", agent.Owner);
        Assert.Equal(["writer"], agent.Roles);
        Assert.Null(agent.Description);
        Assert.Equal(AgentStatuses.Suspended, agent.Status);
        Assert.Equal(T0, agent.CreatedAt);
    }

    [Fact]
    public async Task Agents_Suspend_RevokesLiveCredentialsInTheSameWrite_AndResumeGivesNoneBack()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromHours(1), "jti-1", "jti-2");
        await SeedTaskWithCredentialsAsync("task_b", "other@staging", TimeSpan.FromHours(1), "jti-3");
        var now = T0.AddMinutes(1);

        Assert.True(await Store.Agents.SetStatusAsync("bot@staging", AgentStatuses.Suspended, now, Ct));
        Assert.True(await Store.Agents.SetStatusAsync("bot@staging", AgentStatuses.Active, null, Ct));

        Assert.Equal(now, (await Store.Credentials.GetAsync("jti-1", Ct))!.RevokedAt);
        Assert.Equal(now, (await Store.Credentials.GetAsync("jti-2", Ct))!.RevokedAt);
        Assert.Null((await Store.Credentials.GetAsync("jti-3", Ct))!.RevokedAt);
        Assert.Empty(await Store.Credentials.ListActiveAsync("bot@staging", now, Ct));
    }

    [Fact]
    public async Task Agents_SetStatus_UnknownAgent_ReturnsFalse()
    {
        Assert.False(await Store.Agents.SetStatusAsync("ghost@staging", AgentStatuses.Offboarded, T0, Ct));
    }

    [Fact]
    public async Task Agents_TouchLastSeen_KeepsTheLatestTime()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var later = T0.AddMinutes(5).AddTicks(3); // sub-microsecond part is dropped
        await Store.Agents.TouchLastSeenAsync("bot@staging", later, Ct);
        await Store.Agents.TouchLastSeenAsync("bot@staging", T0.AddMinutes(1), Ct);

        Assert.Equal(UnixMicros.Normalize(later), (await Store.Agents.GetAsync("bot@staging", Ct))!.LastSeenAt);
    }

    // ---------- enrollment ----------

    private async Task<string> AddCodeAsync(string agentId, TimeSpan validFor, DateTimeOffset? usedAt = null)
    {
        var hash = Ids.Sha256Hex(Ids.Random());
        await Store.Agents.AddEnrollmentCodeAsync(new EnrollmentCode(hash, agentId, "admin", T0, T0 + validFor, usedAt), Ct);
        return hash;
    }

    private static AuditEvent Enrolled(Agent agent, AgentKey key) =>
        new(T0, ActorKinds.AiAgent, agent.Id, null, null, "agent.enroll", null, agent.Environment, null, null, Decisions.Allow, null, null, 0,
            "{\"jkt\":\"" + key.Thumbprint + "\"}");

    /// <summary>A record the store cannot append (no action, which the log requires): the append fails inside the write's transaction.</summary>
    private static AuditEvent Unwritable() => NewEvent(0) with { Action = null! };

    private static Task<Result<AgentKey>> EnrollAsync(IWritStore store, string codeHash, string thumbprint, string jwk, DateTimeOffset at, CancellationToken ct) =>
        store.Agents.EnrollAsync(codeHash, thumbprint, jwk, at, Enrolled, ct);

    [Fact]
    public async Task Enroll_AppendsItsAuditRecordInTheSameTransaction()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var code = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15));

        Assert.True((await EnrollAsync(Store, code, "jkt-1", "{}", T0, Ct)).IsSuccess);

        var records = new List<AuditRecord>();
        await foreach (var r in Store.Audit.ReadAllAsync(Ct)) records.Add(r);
        var enrolled = Assert.Single(records);
        Assert.Equal(("agent.enroll", "bot@staging", "staging", "{\"jkt\":\"jkt-1\"}"),
            (enrolled.Event.Action, enrolled.Event.ActorId, enrolled.Event.Environment, enrolled.Event.Details));
        Assert.True((await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct)).Ok);
    }

    [Fact]
    public async Task Enroll_WhenItsAuditRecordCannotBeAppended_WritesNothing()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var code = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15));

        await Assert.ThrowsAsync<AuditUnavailableException>(() => Store.Agents.EnrollAsync(code, "jkt-1", "{}", T0, (_, _) => Unwritable(), Ct));

        Assert.Null(await Store.Agents.GetKeyAsync("jkt-1", Ct));
        // The code was not consumed: the same enrollment goes through once the log can record it.
        Assert.True((await EnrollAsync(Store, code, "jkt-1", "{}", T0, Ct)).IsSuccess);
        Assert.True((await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct)).Ok);
    }

    [Fact]
    public async Task Enroll_ValidCode_RegistersKeyAndConsumesCode()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var code = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15));

        var result = await EnrollAsync(Store, code, "jkt-1", "{\"kty\":\"EC\"}", T0.AddMinutes(1), Ct);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("bot@staging", result.Value.AgentId);
        Assert.Equal(result.Value, await Store.Agents.GetKeyAsync("jkt-1", Ct));
        Assert.Equal(["jkt-1"], (await Store.Agents.ListKeysAsync("bot@staging", Ct)).Select(k => k.Thumbprint));

        var again = await EnrollAsync(Store, code, "jkt-2", "{}", T0.AddMinutes(2), Ct);
        Assert.Equal("enroll.code_used", again.Error?.Code);
        Assert.Null(await Store.Agents.GetKeyAsync("jkt-2", Ct));
    }

    [Fact]
    public async Task GetKeyHolder_ReturnsKeyAgentAndOnlyTheAgentsOwnTask()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging", "reader"), NewAgent("other@staging")], Ct);
        Assert.True((await EnrollAsync(Store, await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15)), "jkt-1", "{}", T0, Ct)).IsSuccess);
        await Store.Tasks.CreateAsync(NewTask("task_mine", "bot@staging", TimeSpan.FromHours(1)), null, Ct);
        await Store.Tasks.CreateAsync(NewTask("task_theirs", "other@staging", TimeSpan.FromHours(1)), null, Ct);

        var mine = await Store.Agents.GetKeyHolderAsync("jkt-1", "task_mine", Ct);
        Assert.NotNull(mine);
        Assert.Equal("jkt-1", mine.Key.Thumbprint);
        Assert.Equal(("bot@staging", AgentStatuses.Active, "alice@example.com"), (mine.Agent.Id, mine.Agent.Status, mine.Agent.Owner));
        Assert.Equal(["reader"], mine.Agent.Roles);
        Assert.Equal(await Store.Tasks.GetAsync("task_mine", Ct), mine.Task);

        Assert.Null((await Store.Agents.GetKeyHolderAsync("jkt-1", "task_theirs", Ct))!.Task);
        Assert.Null((await Store.Agents.GetKeyHolderAsync("jkt-1", null, Ct))!.Task);
        Assert.Null(await Store.Agents.GetKeyHolderAsync("jkt-unknown", "task_mine", Ct));
    }

    [Fact]
    public async Task Enroll_ExpiredCode_FailsAndWritesNothing()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var code = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15));

        var result = await EnrollAsync(Store, code, "jkt-1", "{}", T0.AddMinutes(15), Ct);

        Assert.Equal("enroll.code_expired", result.Error?.Code);
        Assert.Null(await Store.Agents.GetKeyAsync("jkt-1", Ct));
        // Still expired, not used: the failed attempt did not consume it.
        Assert.Equal("enroll.code_expired", (await EnrollAsync(Store, code, "jkt-1", "{}", T0.AddMinutes(16), Ct)).Error?.Code);
    }

    [Fact]
    public async Task Enroll_UnknownCode_IsInvalid()
    {
        var result = await EnrollAsync(Store, Ids.Sha256Hex("nope"), "jkt-1", "{}", T0, Ct);
        Assert.Equal("enroll.invalid_code", result.Error?.Code);
    }

    [Fact]
    public async Task Enroll_UsedCode_IsRefused()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging")], Ct);
        var code = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15), usedAt: T0);
        Assert.Equal("enroll.code_used", (await EnrollAsync(Store, code, "jkt-1", "{}", T0.AddMinutes(1), Ct)).Error?.Code);
        Assert.Null(await Store.Agents.GetKeyAsync("jkt-1", Ct));
    }

    [Fact]
    public async Task Enroll_KeyAlreadyEnrolled_FailsAndLeavesCodeUnused()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging"), NewAgent("other@staging")], Ct);
        var first = await AddCodeAsync("bot@staging", TimeSpan.FromMinutes(15));
        Assert.True((await EnrollAsync(Store, first, "jkt-1", "{}", T0, Ct)).IsSuccess);
        var second = await AddCodeAsync("other@staging", TimeSpan.FromMinutes(15));

        var result = await EnrollAsync(Store, second, "jkt-1", "{}", T0.AddMinutes(1), Ct);

        Assert.Equal("enroll.key_exists", result.Error?.Code);
        Assert.Equal("bot@staging", (await Store.Agents.GetKeyAsync("jkt-1", Ct))!.AgentId);
        // The code was not consumed: it still works with a fresh key.
        Assert.True((await EnrollAsync(Store, second, "jkt-2", "{}", T0.AddMinutes(2), Ct)).IsSuccess);
    }

    // ---------- tasks and credentials ----------

    private async Task SeedTaskWithCredentialsAsync(string taskId, string agentId, TimeSpan taskTtl, params string[] jtis)
    {
        await Store.Agents.UpsertAsync([NewAgent(agentId)], Ct);
        await Store.Tasks.CreateAsync(NewTask(taskId, agentId, taskTtl), null, Ct);
        var batch = jtis.Select((j, i) => new AuditAppend(NewEvent(i, agentId, taskId), NewCredential(j, agentId, taskId, TimeSpan.FromMinutes(5)))).ToList();
        await Store.Audit.AppendAsync(batch, Ct);
    }

    [Fact]
    public async Task Tasks_CreateGetList()
    {
        await Store.Agents.UpsertAsync([NewAgent("bot@staging"), NewAgent("bot@production")], Ct);
        var task = NewTask("task_a", "bot@staging", TimeSpan.FromHours(1));
        await Store.Tasks.CreateAsync(task, null, Ct);
        await Store.Tasks.CreateAsync(NewTask("task_b", "bot@production", TimeSpan.FromHours(1)) with { CreatedAt = T0.AddMinutes(1), Ticket = null, OnBehalfOf = null }, null, Ct);

        Assert.Equal(task, await Store.Tasks.GetAsync("task_a", Ct));
        Assert.Null(await Store.Tasks.GetAsync("task_zzz", Ct));
        Assert.Equal(["task_b", "task_a"], (await Store.Tasks.ListAsync(null, null, 10, Ct)).Select(t => t.Id));
        Assert.Equal(["task_a"], (await Store.Tasks.ListAsync("bot@staging", TaskStatuses.Open, 10, Ct)).Select(t => t.Id));
        Assert.Empty(await Store.Tasks.ListAsync(null, TaskStatuses.Completed, 10, Ct));
        Assert.Single(await Store.Tasks.ListAsync(null, null, 1, Ct));
    }

    [Fact]
    public async Task Tasks_Complete_RevokesItsCredentialsOnly()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromHours(1), "jti-1", "jti-2");
        await SeedTaskWithCredentialsAsync("task_b", "bot@staging", TimeSpan.FromHours(1), "jti-3");
        var now = T0.AddMinutes(1);

        Assert.True(await Store.Tasks.CompleteAsync("task_a", now, null, Ct));

        var task = await Store.Tasks.GetAsync("task_a", Ct);
        Assert.Equal(TaskStatuses.Completed, task!.Status);
        Assert.Equal(now, task.ClosedAt);
        Assert.Equal(now, (await Store.Credentials.GetAsync("jti-1", Ct))!.RevokedAt);
        Assert.Equal(now, (await Store.Credentials.GetAsync("jti-2", Ct))!.RevokedAt);
        Assert.Null((await Store.Credentials.GetAsync("jti-3", Ct))!.RevokedAt);
        Assert.False(await Store.Tasks.CompleteAsync("task_a", now, null, Ct));
        Assert.False(await Store.Tasks.CompleteAsync("task_unknown", now, null, Ct));
    }

    [Fact]
    public async Task Tasks_ExpireDue_ExpiresOnlyDueOpenTasksAndRevokesTheirCredentials()
    {
        await SeedTaskWithCredentialsAsync("task_short", "bot@staging", TimeSpan.FromMinutes(10), "jti-1");
        await SeedTaskWithCredentialsAsync("task_long", "bot@staging", TimeSpan.FromHours(2), "jti-2");
        await Store.Tasks.CreateAsync(NewTask("task_done", "bot@staging", TimeSpan.FromMinutes(1)), null, Ct);
        await Store.Tasks.CompleteAsync("task_done", T0, null, Ct);
        var now = T0.AddMinutes(10);

        Assert.Equal(["task_short"], await Store.Tasks.ExpireDueAsync(now, null, Ct));

        Assert.Equal(TaskStatuses.Expired, (await Store.Tasks.GetAsync("task_short", Ct))!.Status);
        Assert.Equal(TaskStatuses.Completed, (await Store.Tasks.GetAsync("task_done", Ct))!.Status);
        Assert.Equal(TaskStatuses.Open, (await Store.Tasks.GetAsync("task_long", Ct))!.Status);
        Assert.Equal(now, (await Store.Credentials.GetAsync("jti-1", Ct))!.RevokedAt);
        Assert.Null((await Store.Credentials.GetAsync("jti-2", Ct))!.RevokedAt);
        Assert.Empty(await Store.Tasks.ExpireDueAsync(now, null, Ct));
    }

    [Fact]
    public async Task Tasks_CompleteAndExpire_CommitWithTheirRecords_OrNotAtAll()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromMinutes(10), "jti-1");
        await SeedTaskWithCredentialsAsync("task_b", "bot@staging", TimeSpan.FromMinutes(10), "jti-2");
        await SeedTaskWithCredentialsAsync("task_c", "bot@staging", TimeSpan.FromMinutes(10), "jti-3");
        var due = T0.AddMinutes(10);

        await Assert.ThrowsAsync<AuditUnavailableException>(() => Store.Tasks.CompleteAsync("task_a", T0, Unwritable(), Ct));
        await Assert.ThrowsAsync<AuditUnavailableException>(() => Store.Tasks.ExpireDueAsync(due, _ => Unwritable(), Ct));
        Assert.All(["task_a", "task_b", "task_c"], id => Assert.Equal(TaskStatuses.Open, Store.Tasks.GetAsync(id, Ct).Result!.Status));
        Assert.Null((await Store.Credentials.GetAsync("jti-1", Ct))!.RevokedAt);

        Assert.True(await Store.Tasks.CompleteAsync("task_a", T0, NewEvent(1, task: "task_a") with { Action = "task.complete" }, Ct));
        Assert.Equal(["task_b", "task_c"], await Store.Tasks.ExpireDueAsync(due, id => NewEvent(2, task: id) with { Action = "task.expire" }, Ct));
        var log = await Store.Audit.SearchAsync(new AuditQuery(Limit: 100), Ct);
        Assert.Equal(["task.complete:task_a", "task.expire:task_b", "task.expire:task_c"],
            log.Where(r => r.Event.Action is "task.complete" or "task.expire").Select(r => r.Event.Action + ":" + r.Event.TaskId));
        Assert.True((await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct)).Ok);
    }

    [Fact]
    public async Task Credentials_WrittenWithAudit_RoundTripExactly()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromHours(1), "jti-1");
        Assert.Equal(NewCredential("jti-1", "bot@staging", "task_a", TimeSpan.FromMinutes(5)), await Store.Credentials.GetAsync("jti-1", Ct));
        Assert.Null(await Store.Credentials.GetAsync("jti-none", Ct));
    }

    [Fact]
    public async Task Credentials_Revoke_IsIdempotent()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromHours(1), "jti-1");

        Assert.True(await Store.Credentials.RevokeAsync("jti-1", T0.AddMinutes(1), null, Ct));
        Assert.False(await Store.Credentials.RevokeAsync("jti-1", T0.AddMinutes(2), null, Ct));
        Assert.False(await Store.Credentials.RevokeAsync("jti-unknown", T0.AddMinutes(2), null, Ct));
        Assert.Equal(T0.AddMinutes(1), (await Store.Credentials.GetAsync("jti-1", Ct))!.RevokedAt);
    }

    [Fact]
    public async Task Credentials_RevokeByAgent_ListActiveAndCounts()
    {
        await SeedTaskWithCredentialsAsync("task_a", "bot@staging", TimeSpan.FromHours(1), "jti-1", "jti-2");
        await SeedTaskWithCredentialsAsync("task_b", "bot@production", TimeSpan.FromHours(1), "jti-3");
        var now = T0.AddMinutes(1);

        Assert.Equal(new Dictionary<string, int> { ["bot@staging"] = 2, ["bot@production"] = 1 }, await Store.Credentials.CountActiveByAgentAsync(now, Ct));
        Assert.Equal(["jti-1", "jti-2"], (await Store.Credentials.ListActiveAsync("bot@staging", now, Ct)).Select(c => c.Jti));
        Assert.Equal(3, (await Store.Credentials.ListActiveAsync(null, now, Ct)).Count);
        // Expired credentials are not active.
        Assert.Empty(await Store.Credentials.ListActiveAsync(null, T0.AddMinutes(5), Ct));

        Assert.Equal(2, await Store.Credentials.RevokeByAgentAsync("bot@staging", now, Ct));
        Assert.Equal(0, await Store.Credentials.RevokeByAgentAsync("bot@staging", now, Ct));
        Assert.Equal(new Dictionary<string, int> { ["bot@production"] = 1 }, await Store.Credentials.CountActiveByAgentAsync(now, Ct));
    }

    // ---------- policy, signing keys, admin tokens ----------

    [Fact]
    public async Task Policies_AddVersion_CommitsWithItsInventoryAndRecord_OrNotAtAll()
    {
        // The first append of a fresh store made inside a write transaction: the plain appends after it must still work.
        var v1 = await Store.Policies.AddVersionAsync("aa", "kind: Agent\n", "alice", T0, [NewAgent("bot@staging")],
            v => NewEvent(1) with { Action = "policy.apply", PolicyVersion = v.Version }, Ct);
        await Store.Audit.AppendAsync([new AuditAppend(NewEvent(2))], Ct);

        await Assert.ThrowsAsync<AuditUnavailableException>(() =>
            Store.Policies.AddVersionAsync("bb", "kind: Role\n", "bob", T0, [NewAgent("new@staging")], _ => Unwritable(), Ct));

        Assert.Equal(v1.Version, (await Store.Policies.GetLatestAsync(Ct))!.Version);
        Assert.NotNull(await Store.Agents.GetAsync("bot@staging", Ct));
        Assert.Null(await Store.Agents.GetAsync("new@staging", Ct));
        var log = await Store.Audit.SearchAsync(new AuditQuery(Limit: 100), Ct);
        Assert.Equal(["policy.apply", "token.issue"], log.Select(r => r.Event.Action));
        Assert.Equal(v1.Version, log[0].Event.PolicyVersion);
        Assert.True((await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct)).Ok);
    }

    [Fact]
    public async Task Policies_AddVersion_NumbersFromOneAndListsNewestFirst()
    {
        Assert.Null(await Store.Policies.GetLatestAsync(Ct));
        var v1 = await Store.Policies.AddVersionAsync("aa", "kind: Agent\n", "alice", T0, [], null, Ct);
        var v2 = await Store.Policies.AddVersionAsync("bb", "kind: Role\n", "bob", T0.AddMinutes(1), [], null, Ct);

        Assert.Equal(1, v1.Version);
        Assert.Equal(2, v2.Version);
        Assert.Equal(v2, await Store.Policies.GetLatestAsync(Ct));
        Assert.Equal(v1, await Store.Policies.GetAsync(1, Ct));
        Assert.Null(await Store.Policies.GetAsync(3, Ct));
        var list = await Store.Policies.ListAsync(Ct);
        Assert.Equal([2, 1], list.Select(v => v.Version));
        Assert.All(list, v => Assert.Equal("", v.Source));
    }

    [Fact]
    public async Task Policies_ConcurrentAddVersion_NeverDuplicateNumbers()
    {
        var other = await OpenAsync();
        var adds = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? Store : other).Policies.AddVersionAsync($"h{i}", "x", "a", T0, [], null, Ct));
        var versions = (await Task.WhenAll(adds)).Select(v => v.Version).Order();
        Assert.Equal(Enumerable.Range(1, 20), versions);
    }

    [Fact]
    public async Task SigningKeys_Rotate_RetiresEveryOtherKeyWithItsRecord_OrNothing()
    {
        await Store.SigningKeys.AddAsync(new SigningKeyRecord("k1", [1], "{\"kid\":\"k1\"}", T0, null), Ct);
        await Store.SigningKeys.AddAsync(new SigningKeyRecord("k2", [2], "{\"kid\":\"k2\"}", T0.AddDays(1), null), Ct); // left over: also retired

        await Assert.ThrowsAsync<AuditUnavailableException>(() =>
            Store.SigningKeys.RotateAsync(new SigningKeyRecord("k3", [3], "{\"kid\":\"k3\"}", T0.AddDays(2), null), T0.AddDays(2), Unwritable(), Ct));
        Assert.Equal(["k2", "k1"], (await Store.SigningKeys.ListAsync(Ct)).Where(k => k.RetiredAt is null).Select(k => k.KeyId));

        await Store.SigningKeys.RotateAsync(new SigningKeyRecord("k3", [3], "{\"kid\":\"k3\"}", T0.AddDays(2), null), T0.AddDays(2),
            NewEvent(1) with { Action = "keys.rotate" }, Ct);
        var keys = await Store.SigningKeys.ListAsync(Ct);
        Assert.Equal(["k3"], keys.Where(k => k.RetiredAt is null).Select(k => k.KeyId));
        Assert.All(keys.Where(k => k.KeyId != "k3"), k => Assert.Equal(T0.AddDays(2), k.RetiredAt));
        Assert.Equal("keys.rotate", (await Store.Audit.GetHeadAsync(Ct))!.Event.Action);
    }

    [Fact]
    public async Task SigningKeys_AddListRetire()
    {
        await Store.SigningKeys.AddAsync(new SigningKeyRecord("k1", [1, 2, 3], "{\"kid\":\"k1\"}", T0, null), Ct);
        await Store.SigningKeys.AddAsync(new SigningKeyRecord("k2", [4, 5], "{\"kid\":\"k2\"}", T0.AddDays(1), null), Ct);
        await Store.SigningKeys.RetireAsync("k1", T0.AddDays(2), Ct);
        await Store.SigningKeys.RetireAsync("k1", T0.AddDays(3), Ct);

        var keys = await Store.SigningKeys.ListAsync(Ct);
        Assert.Equal(["k2", "k1"], keys.Select(k => k.KeyId));
        Assert.Equal(new byte[] { 4, 5 }, keys[0].SealedPrivateKey);
        Assert.Null(keys[0].RetiredAt);
        Assert.Equal(T0.AddDays(2), keys[1].RetiredAt);
    }

    [Fact]
    public async Task AdminTokens_AddFind()
    {
        var token = new AdminToken(Ids.Sha256Hex("secret"), "bootstrap", T0, null);
        await Store.AdminTokens.AddAsync(token, Ct);
        Assert.Equal(token, await Store.AdminTokens.FindAsync(token.TokenHash, Ct));
        Assert.Null(await Store.AdminTokens.FindAsync(Ids.Sha256Hex("other"), Ct));
    }

    [Fact]
    public async Task AdminTokens_RevokeByName_RevokesEveryTokenOfThatNameOnly()
    {
        var (a, b, other) = (new AdminToken(Ids.Sha256Hex("a"), "gateway:edge", T0, null), new AdminToken(Ids.Sha256Hex("b"), "gateway:edge", T0, null),
            new AdminToken(Ids.Sha256Hex("c"), "gateway:edge-2", T0, null));
        foreach (var t in new[] { a, b, other }) await Store.AdminTokens.AddAsync(t, Ct);

        Assert.Equal(2, await Store.AdminTokens.RevokeByNameAsync("gateway:edge", T0.AddHours(1), null, Ct));
        Assert.Equal(T0.AddHours(1), (await Store.AdminTokens.FindAsync(a.TokenHash, Ct))!.RevokedAt);
        Assert.Equal(T0.AddHours(1), (await Store.AdminTokens.FindAsync(b.TokenHash, Ct))!.RevokedAt);
        Assert.Null((await Store.AdminTokens.FindAsync(other.TokenHash, Ct))!.RevokedAt);
        Assert.Equal(0, await Store.AdminTokens.RevokeByNameAsync("gateway:edge", T0.AddHours(2), null, Ct)); // the first revocation time stays
        Assert.Equal(T0.AddHours(1), (await Store.AdminTokens.FindAsync(a.TokenHash, Ct))!.RevokedAt);
    }

    // ---------- audit ----------

    [Fact]
    public async Task Audit_AppendBatch_ChainsFromGenesisAndRoundTripsExactly()
    {
        Assert.Null(await Store.Audit.GetHeadAsync(Ct));
        var first = await Store.Audit.AppendAsync([new(NewEvent(1)), new(NewEvent(2, decision: Decisions.Deny) with { PolicyVersion = null, Details = null, Reason = "" })], Ct);
        var second = await Store.Audit.AppendAsync([new(NewEvent(3))], Ct);

        Assert.Equal([1L, 2L, 3L], first.Concat(second).Select(r => r.Seq));
        Assert.Equal(AuditChain.GenesisHash, first[0].PrevHash);
        Assert.Equal(first[0].Hash, first[1].PrevHash);
        Assert.Equal(first[1].Hash, second[0].PrevHash);

        var stored = await ToListAsync(Store.Audit.ReadAllAsync(Ct));
        Assert.Equal(first.Concat(second), stored);
        Assert.Equal("", stored[1].Event.Reason);
        Assert.Null(stored[1].Event.Details);
        Assert.Equal(second[0], await Store.Audit.GetHeadAsync(Ct));
    }

    [Fact]
    public async Task Audit_Append_EmptyBatch_WritesNothing()
    {
        Assert.Empty(await Store.Audit.AppendAsync([], Ct));
        Assert.Null(await Store.Audit.GetHeadAsync(Ct));
    }

    [Fact]
    public async Task Audit_AppendWithUnknownTask_FailsWholeBatch()
    {
        await Store.Audit.AppendAsync([new(NewEvent(1))], Ct);
        var bad = new AuditAppend(NewEvent(2), NewCredential("jti-x", "bot@staging", "task_missing", TimeSpan.FromMinutes(5)));

        await Assert.ThrowsAnyAsync<Exception>(() => Store.Audit.AppendAsync([new(NewEvent(3)), bad], Ct));

        Assert.Equal(1, (await Store.Audit.GetHeadAsync(Ct))!.Seq);
        Assert.Null(await Store.Credentials.GetAsync("jti-x", Ct));

        // The failed batch's transaction is gone: the next append chains onto the last good record.
        var next = Assert.Single(await Store.Audit.AppendAsync([new(NewEvent(4))], Ct));
        Assert.Equal(2, next.Seq);
        Assert.Equal((await Store.Audit.GetHeadAsync(Ct))!.Hash, next.Hash);
    }

    [Fact]
    public async Task Audit_ConcurrentWritersOnTwoStores_ProduceOneUnbrokenChain()
    {
        await using var replicaA = new AuditWriter(Store.Audit);
        var other = await OpenAsync();
        await using var replicaB = new AuditWriter(other.Audit);

        var appends = Enumerable.Range(0, 400).Select(i => Task.Run(() => (i % 2 == 0 ? replicaA : replicaB).AppendAsync(new AuditAppend(NewEvent(i)), Ct)));
        var records = await Task.WhenAll(appends);

        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), records.Select(r => r.Seq).Order());
        var report = await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(400, report.Records);
        Assert.Equal(400, report.HeadSeq);
    }

    [Fact]
    public async Task Audit_Search_FiltersCombineAndPageForward()
    {
        await Store.Audit.AppendAsync(
        [
            new(NewEvent(1, "a@staging", "task_1")),
            new(NewEvent(2, "b@staging", "task_2", Decisions.Deny)),
            new(NewEvent(3, "a@staging", "task_1", Decisions.Deny)),
            new(NewEvent(4, "a@staging", "task_3") with { Action = "gateway.call", Environment = "production", Resource = "db" }),
        ], Ct);

        async Task<long[]> Seqs(AuditQuery q) => (await Store.Audit.SearchAsync(q, Ct)).Select(r => r.Seq).ToArray();

        Assert.Equal(new long[] { 1, 3, 4 }, await Seqs(new(ActorId: "a@staging")));
        Assert.Equal(new long[] { 3 }, await Seqs(new(ActorId: "a@staging", Decision: Decisions.Deny)));
        Assert.Equal(new long[] { 1, 3 }, await Seqs(new(TaskId: "task_1")));
        Assert.Equal(new long[] { 4 }, await Seqs(new(Action: "gateway.call")));
        Assert.Equal(new long[] { 4 }, await Seqs(new(Resource: "db", Environment: "production")));
        Assert.Equal(new long[] { 2, 3 }, await Seqs(new(Since: T0.AddTicks(20), Until: T0.AddTicks(40))));
        Assert.Equal(new long[] { 3, 4 }, await Seqs(new(AfterSeq: 2)));
        Assert.Equal(new long[] { 1, 2 }, await Seqs(new(Limit: 2)));
        Assert.Empty(await Seqs(new(ActorId: "nobody@staging")));
    }

    [Fact]
    public async Task Audit_Checkpoints_AddListAndIgnoreDuplicates()
    {
        var cp = new AuditCheckpoint(10, new string('a', 64), T0, "k1", "sig");
        await Store.Audit.AddCheckpointAsync(cp, Ct);
        await Store.Audit.AddCheckpointAsync(cp with { KeyId = "k2" }, Ct);
        await Store.Audit.AddCheckpointAsync(new AuditCheckpoint(5, new string('b', 64), T0, "k1", "sig5"), Ct);

        var list = await Store.Audit.ListCheckpointsAsync(Ct);
        Assert.Equal([5L, 10], list.Select(c => c.Seq));
        Assert.Equal(cp, list[1]);
    }

    [Fact]
    public async Task Audit_VerifyRoundTrip_DetectsRawSqlEdit()
    {
        for (var i = 0; i < 5; i++) await Store.Audit.AppendAsync([new(NewEvent(2 * i)), new(NewEvent(2 * i + 1))], Ct);
        var head = await Store.Audit.GetHeadAsync(Ct);
        await Store.Audit.AddCheckpointAsync(new AuditCheckpoint(head!.Seq, head.Hash, T0, "k1", "sig"), Ct);

        var clean = await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), await Store.Audit.ListCheckpointsAsync(Ct), _ => true, Ct);
        Assert.True(clean.Ok, string.Join("; ", clean.Problems));
        Assert.Equal(10, clean.Records);

        await ExecuteRawAsync("UPDATE audit_events SET decision = 'deny' WHERE seq = 4");

        var tampered = await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), await Store.Audit.ListCheckpointsAsync(Ct), _ => true, Ct);
        Assert.False(tampered.Ok);
        var problem = Assert.Single(tampered.Problems);
        Assert.Equal((4L, AuditProblemKinds.Edited), (problem.Seq, problem.Kind));
    }

    [Fact]
    public async Task Audit_VerifyRoundTrip_DetectsRawSqlDelete()
    {
        await Store.Audit.AppendAsync(Enumerable.Range(0, 6).Select(i => new AuditAppend(NewEvent(i))).ToList(), Ct);
        await ExecuteRawAsync("DELETE FROM audit_events WHERE seq = 3");

        var report = await AuditChain.VerifyAsync(Store.Audit.ReadAllAsync(Ct), [], _ => true, Ct);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((3L, AuditProblemKinds.Deleted), (problem.Seq, problem.Kind));
    }

    // ---------- secrets ----------

    private static readonly MasterKey SecretKey = MasterKey.FromBytes(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private Task<Result<SecretVersionMetadata>> PutSecretAsync(string name, string value, bool create, DateTimeOffset at) =>
        Store.Secrets.AddVersionAsync(name, create, v => SecretRules.Seal(SecretKey, name, v, value), "admin", at, SecretWritten, Ct);

    private static AuditEvent SecretWritten(SecretVersionMetadata written) =>
        new(written.CreatedAt, ActorKinds.Human, written.CreatedBy, null, null, "secret.put", null, null, null, "crm-api-key", Decisions.Info, null, null, 0,
            "{\"version\":" + written.Version + "}");

    [Fact]
    public async Task Secret_EachVersionAppendsItsAuditRecordInTheSameTransaction()
    {
        await PutSecretAsync("crm-api-key", "fake-value-1", create: true, T0);
        await PutSecretAsync("crm-api-key", "fake-value-2", create: false, T0);

        var details = new List<string?>();
        await foreach (var r in Store.Audit.ReadAllAsync(Ct)) details.Add(r.Event.Details);
        Assert.Equal(["{\"version\":1}", "{\"version\":2}"], details);
    }

    [Fact]
    public async Task Secret_WhenItsAuditRecordCannotBeAppended_IsNotStored()
    {
        await Assert.ThrowsAsync<AuditUnavailableException>(() =>
            Store.Secrets.AddVersionAsync("crm-api-key", true, v => SecretRules.Seal(SecretKey, "crm-api-key", v, "fake-value"), "admin", T0, _ => Unwritable(), Ct));

        Assert.Null(await Store.Secrets.GetMetadataAsync("crm-api-key", Ct));
        Assert.True((await PutSecretAsync("crm-api-key", "fake-value", create: true, T0)).IsSuccess);
        Assert.Equal(1, (await Store.Secrets.GetMetadataAsync("crm-api-key", Ct))!.LatestVersion);
    }

    private async Task<string> OpenSecretAsync(string name, int? version = null)
    {
        var stored = await Store.Secrets.GetAsync(name, version, Ct);
        Assert.NotNull(stored);
        return System.Text.Encoding.UTF8.GetString(SecretRules.Open(SecretKey, stored));
    }

    [Fact]
    public async Task Secrets_Create_StoresVersionOneSealed()
    {
        var created = await PutSecretAsync("crm-api-key", "sk_live_one", create: true, T0);

        Assert.True(created.IsSuccess, created.Error?.ToString());
        Assert.Equal(new SecretVersionMetadata(1, "admin", T0), created.Value);
        var stored = await Store.Secrets.GetAsync("crm-api-key", null, Ct);
        Assert.Equal(1, stored!.Version);
        Assert.DoesNotContain("sk_live_one", System.Text.Encoding.UTF8.GetString(stored.SealedValue));
        Assert.Equal("sk_live_one", await OpenSecretAsync("crm-api-key"));
        Assert.Null(await Store.Secrets.GetAsync("other", null, Ct));
        Assert.Null(await Store.Secrets.GetMetadataAsync("other", Ct));
    }

    [Fact]
    public async Task Secrets_CreateExisting_IsConflictAndKeepsValue()
    {
        await PutSecretAsync("crm-api-key", "first", create: true, T0);

        var again = await PutSecretAsync("crm-api-key", "second", create: true, T0.AddMinutes(1));

        Assert.Equal("secret.conflict", again.Error?.Code);
        Assert.Equal("first", await OpenSecretAsync("crm-api-key"));
        Assert.Single((await Store.Secrets.GetMetadataAsync("crm-api-key", Ct))!.Versions);
    }

    [Fact]
    public async Task Secrets_RotateMissing_IsNotFoundAndWritesNothing()
    {
        var rotated = await PutSecretAsync("ghost", "x", create: false, T0);

        Assert.Equal("secret.not_found", rotated.Error?.Code);
        Assert.Empty(await Store.Secrets.ListAsync(Ct));
    }

    [Fact]
    public async Task Secrets_Rotate_AddsVersionAndKeepsOldOnes()
    {
        await PutSecretAsync("crm-api-key", "v1-value", create: true, T0);
        var rotated = await PutSecretAsync("crm-api-key", "v2-value", create: false, T0.AddDays(1));

        Assert.Equal(2, rotated.Value.Version);
        Assert.Equal("v2-value", await OpenSecretAsync("crm-api-key"));
        Assert.Equal("v1-value", await OpenSecretAsync("crm-api-key", 1));
        Assert.Null(await Store.Secrets.GetAsync("crm-api-key", 3, Ct));
        var meta = await Store.Secrets.GetMetadataAsync("crm-api-key", Ct);
        Assert.Equal([1, 2], meta!.Versions.Select(v => v.Version));
        Assert.Equal((2, T0, (DateTimeOffset?)T0.AddDays(1)), (meta.LatestVersion, meta.CreatedAt, meta.RotatedAt));
    }

    [Fact]
    public async Task Secrets_List_ByNameWithVersions()
    {
        await PutSecretAsync("zeta", "z", create: true, T0);
        await PutSecretAsync("Alpha", "a", create: true, T0);
        await PutSecretAsync("alpha", "a", create: true, T0);
        await PutSecretAsync("zeta", "z2", create: false, T0.AddMinutes(1));

        var list = await Store.Secrets.ListAsync(Ct);

        Assert.Equal(["Alpha", "alpha", "zeta"], list.Select(s => s.Name));
        Assert.Equal([1, 1, 2], list.Select(s => s.LatestVersion));
        Assert.Null(list[0].RotatedAt);
    }

    [Fact]
    public async Task Secrets_ConcurrentRotations_TakeDistinctVersions()
    {
        await PutSecretAsync("crm-api-key", "v1", create: true, T0);
        var second = await OpenAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            (i % 2 == 0 ? Store : second).Secrets.AddVersionAsync("crm-api-key", false, v => SecretRules.Seal(SecretKey, "crm-api-key", v, "value-" + i), "admin", T0, SecretWritten, Ct)));

        Assert.All(results, r => Assert.True(r.IsSuccess, r.Error?.ToString()));
        Assert.Equal(Enumerable.Range(2, 8), results.Select(r => r.Value.Version).Order());
        for (var v = 1; v <= 9; v++) await OpenSecretAsync("crm-api-key", v); // every version opens under its own number
    }

    [Fact]
    public async Task Secrets_SealThrows_WritesNothing()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Store.Secrets.AddVersionAsync("crm-api-key", true, _ => throw new InvalidOperationException("no key"), "admin", T0, SecretWritten, Ct));

        Assert.Null(await Store.Secrets.GetMetadataAsync("crm-api-key", Ct));
    }

    [Fact]
    public async Task Secrets_SealedValueCopiedToAnotherSecret_DoesNotOpen()
    {
        await PutSecretAsync("production-key", "the-production-secret", create: true, T0);
        await PutSecretAsync("staging-key", "staging", create: true, T0);

        await ExecuteRawAsync("UPDATE secret_versions SET sealed_value = (SELECT sealed_value FROM secret_versions WHERE name = 'production-key') WHERE name = 'staging-key'");

        var moved = await Store.Secrets.GetAsync("staging-key", null, Ct);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => SecretRules.Open(SecretKey, moved!));
        var original = await Store.Secrets.GetAsync("production-key", null, Ct);
        using var otherKey = MasterKey.FromBytes(new byte[32]);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => SecretRules.Open(otherKey, original!));
    }

    protected static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}
