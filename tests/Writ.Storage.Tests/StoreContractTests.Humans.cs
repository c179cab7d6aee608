using Writ.Core.Approvals;
using Writ.Core.Audit;
using Writ.Core.Humans;
using Writ.Core.Storage;

namespace Writ.Storage.Tests;

/// <summary>The humans-in-the-loop stores on both engines: users and sessions, approvals with optimistic concurrency, webhook outbox.</summary>
public abstract partial class StoreContractTests
{
    private static User NewUser(string name, params string[] roles) =>
        new(name, roles, UserStatuses.Active, "pbkdf2-sha512$20000$c2FsdA==$aGFzaA==", 0, null, T0, null);

    private static Approval NewApproval(string id, string taskId = "task_h", string? target = "customers/1") => new(
        id, ApprovalKinds.Elevation, ApprovalStatuses.Pending,
        new ApprovalBinding("bot@staging", taskId, "crm", "staging", "crm:read", target, null),
        "alice@example.com", "owner@example.com", "a justification that's long enough — with “quotes”",
        ApprovalRule.Default(TimeSpan.FromMinutes(30)) with { Approvers = ["alice", "bob"], Required = 2 },
        T0, T0.AddMinutes(15), [], null, null, null, 1);

    [Fact]
    public async Task Users_AddGetList_AndNamesAreUnique()
    {
        Assert.True((await Store.Users.AddAsync(NewUser("alice", HumanRoles.Approver, HumanRoles.Auditor), Ct)).IsSuccess);
        Assert.Equal("user.exists", (await Store.Users.AddAsync(NewUser("alice", HumanRoles.Admin), Ct)).Error!.Code);
        var alice = (await Store.Users.GetAsync("alice", Ct))!;
        Assert.Equal([HumanRoles.Approver, HumanRoles.Auditor], alice.Roles);
        Assert.Equal(["alice"], (await Store.Users.ListAsync(Ct)).Select(u => u.Name));
    }

    [Fact]
    public async Task Users_LoginAttempts_AreClaimedBeforeTheCheck_LockAtTheThreshold_AndACorrectPasswordClears()
    {
        await Store.Users.AddAsync(NewUser("bob", HumanRoles.Approver), Ct);
        for (var i = 0; i < 2; i++) Assert.True((await Store.Users.ClaimLoginAttemptAsync("bob", T0, 3, TimeSpan.FromMinutes(15), Ct))!.Claimed);
        Assert.Equal(2, (await Store.Users.GetAsync("bob", Ct))!.FailedLogins);
        var third = (await Store.Users.ClaimLoginAttemptAsync("bob", T0, 3, TimeSpan.FromMinutes(15), Ct))!;
        Assert.True(third.Claimed); // the attempt that reaches the limit is still checked …
        Assert.Equal(T0.AddMinutes(15), third.User.LockedUntil);
        Assert.False((await Store.Users.ClaimLoginAttemptAsync("bob", T0.AddMinutes(1), 3, TimeSpan.FromMinutes(15), Ct))!.Claimed); // … later ones are not
        Assert.True((await Store.Users.ClaimLoginAttemptAsync("bob", T0.AddMinutes(15), 3, TimeSpan.FromMinutes(15), Ct))!.Claimed); // the lock ends
        Assert.Null(await Store.Users.ClaimLoginAttemptAsync("nobody", T0, 3, TimeSpan.FromMinutes(15), Ct));

        await Store.Users.ClearLoginFailuresAsync("bob", Ct);
        var cleared = (await Store.Users.GetAsync("bob", Ct))!;
        Assert.Equal((0, (DateTimeOffset?)null), (cleared.FailedLogins, cleared.LockedUntil));
    }

    [Fact]
    public async Task Users_ParallelClaims_NeverExceedTheThreshold()
    {
        await Store.Users.AddAsync(NewUser("eve", HumanRoles.Approver), Ct);
        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Store.Users.ClaimLoginAttemptAsync("eve", T0, 5, TimeSpan.FromMinutes(15), Ct)));
        Assert.Equal(5, claims.Count(c => c!.Claimed));
    }

    [Fact]
    public async Task Users_Disable_RevokesEverySession_InOneTransaction()
    {
        await Store.Users.AddAsync(NewUser("carol", HumanRoles.Admin), Ct);
        await Store.Users.AddSessionAsync(new UserSession("hash-a", "carol", T0, T0.AddHours(8), null), Ct);
        await Store.Users.AddSessionAsync(new UserSession("hash-b", "carol", T0, T0.AddHours(8), null), Ct);
        Assert.True(await Store.Users.RevokeSessionAsync("hash-a", T0.AddMinutes(1), Ct));
        Assert.False(await Store.Users.RevokeSessionAsync("hash-a", T0.AddMinutes(2), Ct));

        Assert.True(await Store.Users.DisableAsync("carol", T0.AddMinutes(3), Ct));
        var found = (await Store.Users.FindSessionAsync("hash-b", Ct))!;
        Assert.Equal(T0.AddMinutes(3), found.Session.RevokedAt);
        Assert.Equal(UserStatuses.Disabled, found.User.Status);
        Assert.False(await Store.Users.DisableAsync("nobody", T0, Ct));
        Assert.Null(await Store.Users.FindSessionAsync("no-such-hash", Ct));
    }

    [Fact]
    public async Task Approvals_RoundTrip_AndFindPendingMatchesTheExactRequest()
    {
        var approval = NewApproval("apr_1");
        await Store.Approvals.CreateAsync(approval, Ct);
        var read = (await Store.Approvals.GetAsync("apr_1", Ct))!;
        Assert.Equal(approval with { Votes = [] }, read with { Votes = [], Rule = approval.Rule });
        Assert.Equal(approval.Rule with { Approvers = [] }, read.Rule with { Approvers = [] });
        Assert.Equal(approval.Rule.Approvers, read.Rule.Approvers);

        Assert.Equal("apr_1", (await Store.Approvals.FindPendingAsync(approval.Request, T0.AddMinutes(1), Ct))!.Id);
        Assert.Null(await Store.Approvals.FindPendingAsync(approval.Request with { Target = "customers/2" }, T0.AddMinutes(1), Ct));
        Assert.Null(await Store.Approvals.FindPendingAsync(approval.Request, T0.AddMinutes(15), Ct));
        Assert.Equal(["apr_1"], (await Store.Approvals.ListAsync(ApprovalStatuses.Pending, 10, Ct)).Select(a => a.Id));
        Assert.Empty(await Store.Approvals.ListAsync(ApprovalStatuses.Denied, 10, Ct));
    }

    [Fact]
    public async Task Approvals_Update_IsOptimistic_OfTwoWritersExactlyOneWins()
    {
        var approval = NewApproval("apr_2");
        await Store.Approvals.CreateAsync(approval, Ct);
        var byAlice = approval with { Votes = [new ApprovalVote("alice", true, "ok", T0)], Version = 2 };
        var byBob = approval with { Status = ApprovalStatuses.Denied, Votes = [new ApprovalVote("bob", false, "no", T0)], DecidedAt = T0, Version = 2 };

        var results = await Task.WhenAll(Store.Approvals.UpdateAsync(byAlice, Ct), Store.Approvals.UpdateAsync(byBob, Ct));
        Assert.Single(results, won => won);
        var stored = (await Store.Approvals.GetAsync("apr_2", Ct))!;
        Assert.Equal(2, stored.Version);
        Assert.Single(stored.Votes);
    }

    [Fact]
    public async Task Approvals_ExpireDue_And_CloseEndedWindows_RevokingOnlyThatRequestsCredentials()
    {
        await SeedTaskWithCredentialsAsync("task_h", "bot@staging", TimeSpan.FromHours(1), "jti-in-window", "jti-also");
        await Store.Audit.AppendAsync([new AuditAppend(NewEvent(9, "bot@staging", "task_h"),
            NewCredential("jti-other-target", "bot@staging", "task_h", TimeSpan.FromMinutes(5)) with { Target = "customers/2" })], Ct);

        await Store.Approvals.CreateAsync(NewApproval("apr_old"), Ct);
        var expired = await Store.Approvals.ExpireDueAsync(T0.AddMinutes(16), null, Ct);
        Assert.Equal(["apr_old"], expired.Select(a => a.Id));
        Assert.Equal(ApprovalStatuses.Expired, (await Store.Approvals.GetAsync("apr_old", Ct))!.Status);

        var open = NewApproval("apr_win") with
        {
            Status = ApprovalStatuses.Approved, DecidedAt = T0.AddMinutes(-1), WindowEndsAt = T0.AddMinutes(5), ExpiresAt = T0.AddMinutes(30),
        };
        await Store.Approvals.CreateAsync(open, Ct);
        Assert.Empty(await Store.Approvals.CloseEndedWindowsAsync(T0.AddMinutes(4), null, Ct));
        var closed = Assert.Single(await Store.Approvals.CloseEndedWindowsAsync(T0.AddMinutes(5), null, Ct));
        Assert.Equal(("apr_win", 2), (closed.Elevation.Id, closed.Revoked));
        Assert.Null((await Store.Credentials.GetAsync("jti-other-target", Ct))!.RevokedAt);
        Assert.NotNull((await Store.Credentials.GetAsync("jti-in-window", Ct))!.RevokedAt);
        Assert.Empty(await Store.Approvals.CloseEndedWindowsAsync(T0.AddMinutes(6), null, Ct));
    }

    [Fact]
    public async Task Approvals_ExpireAndCloseWindows_CommitWithTheirRecords_OrNotAtAll()
    {
        await SeedTaskWithCredentialsAsync("task_h", "bot@staging", TimeSpan.FromHours(1), "jti-in-window");
        await Store.Approvals.CreateAsync(NewApproval("apr_old"), Ct);
        await Store.Approvals.CreateAsync(NewApproval("apr_win") with
        {
            Status = ApprovalStatuses.Approved, DecidedAt = T0.AddMinutes(-1), WindowEndsAt = T0.AddMinutes(5), ExpiresAt = T0.AddMinutes(30),
        }, Ct);
        var later = T0.AddMinutes(16);

        await Assert.ThrowsAsync<AuditUnavailableException>(() => Store.Approvals.ExpireDueAsync(later, _ => Unwritable(), Ct));
        await Assert.ThrowsAsync<AuditUnavailableException>(() => Store.Approvals.CloseEndedWindowsAsync(later, (_, _) => Unwritable(), Ct));
        Assert.Equal(ApprovalStatuses.Pending, (await Store.Approvals.GetAsync("apr_old", Ct))!.Status);
        Assert.Equal(ApprovalStatuses.Approved, (await Store.Approvals.GetAsync("apr_win", Ct))!.Status);
        Assert.Null((await Store.Credentials.GetAsync("jti-in-window", Ct))!.RevokedAt);

        await Store.Approvals.ExpireDueAsync(later, a => NewEvent(1) with { Action = "approval.expire", Target = a.Id }, Ct);
        await Store.Approvals.CloseEndedWindowsAsync(later, (a, n) => NewEvent(2) with { Action = "elevation.expire", Target = a.Id + ":" + n }, Ct);
        var log = await Store.Audit.SearchAsync(new AuditQuery(Limit: 100), Ct);
        Assert.Equal(["approval.expire:apr_old", "elevation.expire:apr_win:1"],
            log.Where(r => r.Event.Action is "approval.expire" or "elevation.expire").Select(r => r.Event.Action + ":" + r.Event.Target));
    }

    [Fact]
    public async Task Approvals_OfAnEndedTask_Expire_BeforeTheirOwnExpiry()
    {
        await SeedTaskWithCredentialsAsync("task_open", "bot@staging", TimeSpan.FromHours(1));
        await SeedTaskWithCredentialsAsync("task_done", "bot@staging", TimeSpan.FromHours(1));
        await SeedTaskWithCredentialsAsync("task_short", "bot@staging", TimeSpan.FromMinutes(2));
        await Store.Approvals.CreateAsync(NewApproval("apr_open", "task_open"), Ct);
        await Store.Approvals.CreateAsync(NewApproval("apr_done", "task_done"), Ct);
        await Store.Approvals.CreateAsync(NewApproval("apr_short", "task_short"), Ct);
        Assert.True(await Store.Tasks.CompleteAsync("task_done", T0.AddMinutes(1), null, Ct));

        var expired = await Store.Approvals.ExpireDueAsync(T0.AddMinutes(3), null, Ct);
        Assert.Equal(["apr_done", "apr_short"], expired.Select(a => a.Id).Order());
        Assert.Equal(ApprovalStatuses.Pending, (await Store.Approvals.GetAsync("apr_open", Ct))!.Status);
    }

    [Fact]
    public async Task Webhooks_Outbox_DueRetryDeliveredFailed()
    {
        WebhookDelivery Delivery(string id) => new(id, "approval.requested", "apr_1", "https://hooks.example/x", "{\"text\":\"hi\"}",
            WebhookStatuses.Pending, 0, T0, null, null, T0, null);
        await Store.Webhooks.EnqueueAsync([Delivery("whd_1"), Delivery("whd_2")], Ct);
        Assert.Equal(2, (await Store.Webhooks.DueAsync(T0, 10, Ct)).Count);

        await Store.Webhooks.RecordAttemptAsync("whd_1", false, 500, "HTTP 500", T0, T0.AddSeconds(2), Ct);
        await Store.Webhooks.RecordAttemptAsync("whd_2", false, null, "timed out", T0, null, Ct);
        Assert.Empty(await Store.Webhooks.DueAsync(T0.AddSeconds(1), 10, Ct));
        var retry = Assert.Single(await Store.Webhooks.DueAsync(T0.AddSeconds(2), 10, Ct));
        Assert.Equal(("whd_1", 1, 500), (retry.Id, retry.Attempts, retry.LastStatus ?? 0));

        await Store.Webhooks.RecordAttemptAsync("whd_1", true, 200, null, T0.AddSeconds(2), null, Ct);
        var log = await Store.Webhooks.ListAsync(10, Ct);
        Assert.Equal(WebhookStatuses.Delivered, log.Single(d => d.Id == "whd_1").Status);
        Assert.Equal(T0.AddSeconds(2), log.Single(d => d.Id == "whd_1").DeliveredAt);
        Assert.Equal((WebhookStatuses.Failed, "timed out"), (log.Single(d => d.Id == "whd_2").Status, log.Single(d => d.Id == "whd_2").LastError));
    }
}
