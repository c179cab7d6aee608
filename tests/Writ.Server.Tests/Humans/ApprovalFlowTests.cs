using Microsoft.Extensions.DependencyInjection;
using Writ.Client.Http;
using Writ.Server.Approvals;
using Xunit;

namespace Writ.Server.Tests.Humans;

/// <summary>
/// Invariant 5 under attack: write needs a justification and a human approval, delete a time-limited elevation
/// approved by someone who is not the requester. Each refusal has a stable code, is audited, and grants nothing.
/// </summary>
public sealed class ApprovalFlowTests : IAsyncLifetime
{
    public const string Policy = """
        environments: { staging: {}, production: {} }
        groups:
          oncall: [alice, bob]
        resources:
          volumes: { actions: [read, write, delete, admin], environments: [staging, production] }
          crm: { actions: [read, write], environments: [staging] }
          wiki: { actions: [read, write], environments: [staging] }
        roles:
          operator:
            permissions:
              volumes: [read, write, delete]
              crm: [read, write]
              wiki: [read, write]
            approvals:
              volumes:
                write: { approvers: [group:oncall], justification: 20, max_grant: 2m }
                delete: { approvers: [group:oncall, dana@example.com], max_window: 10m }
              crm:
                write: { approvers: [group:oncall], required: 2 }
              wiki:
                write: { justification: 0 }
        agents:
          coding-agent@staging: { kind: ai-agent, owner: dana@example.com, roles: [operator] }
          other-agent@staging: { kind: ai-agent, owner: sam@example.com, roles: [operator] }
        """;

    private const string Why = "rotate the volume's data after the staging migration";

    private readonly ShiftedClock _clock = new();
    private WritFixture _writ = null!;

    public async Task InitializeAsync() =>
        _writ = await WritFixture.StartAsync(Policy, b => b.Services.AddSingleton<TimeProvider>(_clock));

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    private async Task<(TestAgent Agent, string TaskId)> AgentWithTaskAsync(string id = "coding-agent@staging", string? onBehalfOf = null)
    {
        var agent = await _writ.EnrollAsync(id);
        var task = await agent.Client.StartTaskAsync("migrate staging", "OPS-9", onBehalfOf);
        return (agent, task.Id);
    }

    /// <summary>An agent with a task, and its write of vol-1 approved by alice: the approval's id.</summary>
    private async Task<(TestAgent Agent, string TaskId, string ApprovalId)> ApprovedWriteAsync()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        await alice.ApproveAsync(id, "checked the migration plan");
        return (agent, taskId, id);
    }

    private static async Task<string> AskAsync(TestAgent agent, string taskId, string scope, string? target = null, string justification = Why)
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync(scope, taskId, target, justification: justification));
        Assert.Contains(e.OAuthError, new[] { "approval_required", "elevation_required" });
        return e.ApprovalId!;
    }

    private static Task<WritApiException> PollFailsAsync(TestAgent agent, string taskId, string scope, string approvalId, string? target = null, TimeSpan? ttl = null) =>
        Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync(scope, taskId, target, ttl, approvalId: approvalId));

    [Fact]
    public async Task Write_NeedsJustification_ThenOneApproval_GrantsExactlyOnce_AndTheTrailNamesEveryone()
    {
        var (agent, taskId) = await AgentWithTaskAsync(onBehalfOf: "carol");
        var alice = await _writ.UserAsync("alice", "approver");

        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        var pending = await PollFailsAsync(agent, taskId, "volumes:write", id, "vol-1");
        Assert.Equal(("authorization_pending", "approval.pending"), (pending.OAuthError, pending.Code));

        var decided = await alice.ApproveAsync(id, "checked the migration plan");
        Assert.Equal("approved", decided.Status);

        var credential = await agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id);
        Assert.InRange(credential.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(2)); // max_grant 2m

        var again = await PollFailsAsync(agent, taskId, "volumes:write", id, "vol-1", TimeSpan.FromSeconds(90));
        Assert.Equal("approval.mismatch", again.Code); // another TTL is another request
        var replay = await Assert.ThrowsAsync<WritApiException>(() => new WritAgentClient(_writ.Http(), new Uri(WritFixture.Issuer + "/"), agent.Id, agent.Key)
            .GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id));
        Assert.Equal(("invalid_grant", "approval.used"), (replay.OAuthError, replay.Code));

        var trail = await _writ.Admin().SearchAuditAsync(task: taskId);
        var steps = trail.Where(e => e.Action is "token.issue" or "approval.approve").Select(e => (e.Action, e.ActorKind, e.ActorId, e.Decision, e.Reason)).ToList();
        Assert.Contains(("token.issue", "ai-agent", agent.Id, "approval_required", (string?)"policy.approval_required"), steps);
        Assert.Contains(("approval.approve", "human", "alice", "allow", (string?)"approval.approved"), steps);
        Assert.Contains(("token.issue", "ai-agent", agent.Id, "allow", (string?)"approval.granted"), steps);
        var approval = trail.Single(e => e.Action == "approval.approve");
        Assert.Contains("checked the migration plan", approval.Details);
        Assert.Equal("carol", approval.OnBehalfOf);
        Assert.Contains(Why, trail.First(e => e.Decision == "approval_required").Details);
    }

    [Fact]
    public async Task ApprovedWrite_RedeemedWhileTheAuditLogIsDown_IsNotBurned_AndWorksOnceItIsBack()
    {
        var (agent, taskId, id) = await ApprovedWriteAsync();
        await _writ.BlockAuditAsync();

        var down = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id));

        Assert.Equal((503, "audit.unavailable"), (down.Status, down.Code));
        await _writ.UnblockAuditAsync();
        var credential = await agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id);
        Assert.False(string.IsNullOrEmpty(credential.AccessToken));
        // A client of its own: the agent's client would answer from its cache without asking.
        var replay = await Assert.ThrowsAsync<WritApiException>(() => new WritAgentClient(_writ.Http(), new Uri(WritFixture.Issuer + "/"), agent.Id, agent.Key)
            .GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id));
        Assert.Equal(("invalid_grant", "approval.used"), (replay.OAuthError, replay.Code));
    }

    [Theory]
    [InlineData("", "approval.justification_required")]
    [InlineData("because", "approval.justification_too_short")]
    public async Task Justification_MissingOrShort_IsRefused_AndNothingIsCreated(string justification, string code)
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-1", justification: justification));
        Assert.Equal(("invalid_request", code), (e.OAuthError, e.Code));
        Assert.Empty(await _writ.Admin().ListApprovalsAsync());
        Assert.Equal(code, (await _writ.Admin().SearchAuditAsync(action: "token.issue")).Single().Reason);
    }

    [Fact]
    public async Task RuleWithoutJustification_CreatesTheRequestWithoutOne()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("wiki:write", taskId, "page-1"));
        Assert.Equal(("approval_required", 403), (e.OAuthError, e.Status));
        Assert.Equal("", (await _writ.Admin().GetApprovalAsync(e.ApprovalId!)).Justification);
    }

    [Fact]
    public async Task Elevation_WithoutATarget_IsRefused()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:delete", taskId, justification: Why));
        Assert.Equal(("invalid_request", "elevation.target_required"), (e.OAuthError, e.Code));
        Assert.Empty(await _writ.Admin().ListApprovalsAsync());
    }

    [Fact]
    public async Task OneTask_CannotFloodApprovers()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        for (var i = 0; i < 5; i++) await AskAsync(agent, taskId, "volumes:write", "vol-" + i);
        var sixth = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-9", justification: Why));
        Assert.Equal(("approval.too_many_pending", 429), (sixth.Code, sixth.Status));
        Assert.Equal(5, (await _writ.Admin().ListApprovalsAsync("pending")).Count);
    }

    [Fact]
    public async Task Deciding_NeedsThePasswordAgain_ASessionTokenAloneCannot()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");

        alice.StepUpPassword = null;
        var none = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "stolen session"));
        Assert.Equal(("auth.reauthentication_required", 401), (none.Code, none.Status));
        alice.StepUpPassword = "not alice's password";
        Assert.Equal("auth.reauthentication_failed", (await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "guessing"))).Code);
        Assert.Equal("pending", (await _writ.Admin().GetApprovalAsync(id)).Status);
        Assert.Equal(2, (await _writ.Admin().SearchAuditAsync(action: "approval.approve")).Count(r => r.Decision == "deny" && r.Reason!.StartsWith("auth.reauthentication", StringComparison.Ordinal)));

        alice.StepUpPassword = WritFixture.TestPassword;
        Assert.Equal("approved", (await alice.ApproveAsync(id, "checked")).Status);
    }

    [Fact]
    public async Task ScopeWrittenInAnotherOrder_IsStillRevokedWhenTheWindowCloses()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:read volumes:delete", "vol-1");
        await alice.ApproveAsync(id, "ok", "2m");
        var credential = await agent.Client.GetCredentialAsync("volumes:read volumes:delete", taskId, "vol-1", approvalId: id);
        Assert.Equal("volumes:delete volumes:read", credential.Scope); // the approval's own (normalised) scope

        _clock.Offset = TimeSpan.FromMinutes(3);
        await _writ.Service<ApprovalMaintenance>().RunOnceAsync(default);
        Assert.Contains("\"revoked\":1", Assert.Single(await _writ.Admin().SearchAuditAsync(action: "elevation.expire")).Details);
    }

    [Fact]
    public async Task AskingAgain_ForTheSameThing_ReusesThePendingApproval()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var first = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        var second = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        Assert.Equal(first, second);
        Assert.NotEqual(first, await AskAsync(agent, taskId, "volumes:write", "vol-2"));
    }

    [Fact]
    public async Task ApproverOutsideTheRule_IsRefused_Audited_AndTheRequestStaysPending()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var carol = await _writ.UserAsync("carol", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");

        var e = await Assert.ThrowsAsync<WritApiException>(() => carol.ApproveAsync(id, "looks fine"));
        Assert.Equal(("approval.not_eligible", 403), (e.Code, e.Status));
        Assert.Equal("pending", (await _writ.Admin().GetApprovalAsync(id)).Status);
        var audited = Assert.Single(await _writ.Admin().SearchAuditAsync(action: "approval.approve"));
        Assert.Equal(("human", "carol", "deny", "approval.not_eligible"), (audited.ActorKind, audited.ActorId, audited.Decision, audited.Reason));
        Assert.Equal("authorization_pending", (await PollFailsAsync(agent, taskId, "volumes:write", id, "vol-1")).OAuthError);
    }

    [Fact]
    public async Task DisabledApprover_CannotDecide()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        await _writ.Admin().DisableUserAsync("alice");
        var e = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "ok"));
        Assert.Equal(401, e.Status);
        Assert.Equal("pending", (await _writ.Admin().GetApprovalAsync(id)).Status);
    }

    [Fact]
    public async Task Owner_CannotApproveTheirAgentsElevation_AndTheRequesterCannotApproveTheirOwn()
    {
        var (agent, taskId) = await AgentWithTaskAsync(onBehalfOf: "alice");
        var owner = await _writ.UserAsync("dana@example.com", "approver");
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:delete", "vol-1");

        Assert.Equal("approval.owner_not_allowed", (await Assert.ThrowsAsync<WritApiException>(() => owner.ApproveAsync(id, "my agent, fine"))).Code);
        Assert.Equal("approval.self_approval", (await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "I asked for it"))).Code);
        Assert.Equal("pending", (await _writ.Admin().GetApprovalAsync(id)).Status);
    }

    [Fact]
    public async Task TwoApprovalsRule_CountsPeopleNotClicks()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var bob = await _writ.UserAsync("bob", "approver");
        var id = await AskAsync(agent, taskId, "crm:write", "customers/7");

        Assert.Equal("pending", (await alice.ApproveAsync(id, "first look")).Status);
        var twice = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "second look"));
        Assert.Equal(("approval.already_decided", 409), (twice.Code, twice.Status));
        Assert.Equal("authorization_pending", (await PollFailsAsync(agent, taskId, "crm:write", id, "customers/7")).OAuthError);

        Assert.Equal("approved", (await bob.ApproveAsync(id, "agreed")).Status);
        await agent.Client.GetCredentialAsync("crm:write", taskId, "customers/7", approvalId: id);
    }

    [Fact]
    public async Task TwoApproversRacing_OnAOneApprovalRule_ExactlyOneDecides()
    {
        var alice = await _writ.UserAsync("alice", "approver");
        var bob = await _writ.UserAsync("bob", "approver");
        var (agent, taskId) = await AgentWithTaskAsync();
        for (var round = 0; round < 5; round++)
        {
            var id = await AskAsync(agent, taskId, "volumes:write", "vol-race-" + round);
            var results = await Task.WhenAll(Outcome(alice.ApproveAsync(id, "go")), Outcome(bob.DenyAsync(id, "no")));
            Assert.Single(results, r => r == "ok");
            Assert.Single(results, r => r is "approval.not_pending" or "approval.conflict");
            var final = await _writ.Admin().GetApprovalAsync(id);
            Assert.Single(final.Votes);
        }

        static async Task<string> Outcome(Task call)
        {
            try { await call; return "ok"; }
            catch (WritApiException e) { return e.Code; }
        }
    }

    [Fact]
    public async Task Denied_IsFinal_ForTheAgent()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var bob = await _writ.UserAsync("bob", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        Assert.Equal("approval.reason_required", (await Assert.ThrowsAsync<WritApiException>(() => bob.DenyAsync(id, " "))).Code);
        await bob.DenyAsync(id, "not during the freeze");
        var e = await PollFailsAsync(agent, taskId, "volumes:write", id, "vol-1");
        Assert.Equal(("access_denied", "approval.denied"), (e.OAuthError, e.Code));
        Assert.Contains("not during the freeze", e.Message);
    }

    [Fact]
    public async Task ExpiredRequest_CannotBeApproved_NorRedeemed_AndItsExpiryIsAudited()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");

        _clock.Offset = TimeSpan.FromMinutes(16);
        var late = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "sorry, was in a meeting"));
        Assert.Equal(("approval.expired", 409), (late.Code, late.Status));
        await _writ.Service<ApprovalMaintenance>().RunOnceAsync(default);
        Assert.Equal("expired", (await _writ.Admin().GetApprovalAsync(id)).Status);
        Assert.Equal("approval.expired", Assert.Single(await _writ.Admin().SearchAuditAsync(action: "approval.expire")).Reason);
    }

    [Fact]
    public async Task RequestOfAnEndedTask_CannotBeApproved_AndIsExpiredByMaintenance()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:write", "vol-1");
        await agent.Client.CompleteTaskAsync(taskId);

        var moot = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "looks fine to me"));
        Assert.Equal(("approval.task_ended", 409), (moot.Code, moot.Status));
        Assert.Equal("pending", (await _writ.Admin().GetApprovalAsync(id)).Status);
        await _writ.Service<ApprovalMaintenance>().RunOnceAsync(default);
        Assert.Equal("expired", (await _writ.Admin().GetApprovalAsync(id)).Status);
        Assert.Contains(await _writ.Admin().SearchAuditAsync(action: "approval.approve"), e => e.Reason == "approval.task_ended" && e.Decision == "deny");
    }

    [Fact]
    public async Task Elevation_IsUsableOnlyInsideItsWindow_OnItsOneTarget_AndItsCredentialsAreRevokedWhenItCloses()
    {
        var (agent, taskId) = await AgentWithTaskAsync(onBehalfOf: "carol");
        var alice = await _writ.UserAsync("alice", "approver");
        var id = await AskAsync(agent, taskId, "volumes:delete", "vol-1");

        var tooLong = await Assert.ThrowsAsync<WritApiException>(() => alice.ApproveAsync(id, "ok", "30m"));
        Assert.Equal("approval.invalid_window", tooLong.Code);
        var approved = await alice.ApproveAsync(id, "orphaned volume, confirmed with dana", "5m");
        Assert.Equal("approved", approved.Status);
        Assert.InRange(approved.WindowEndsAt!.Value - approved.DecidedAt!.Value, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));

        var credential = await agent.Client.GetCredentialAsync("volumes:delete", taskId, "vol-1", approvalId: id);
        Assert.True(credential.ExpiresAt <= approved.WindowEndsAt!.Value.AddSeconds(1));
        var otherTarget = await PollFailsAsync(agent, taskId, "volumes:delete", id, "vol-2");
        Assert.Equal(("invalid_grant", "approval.mismatch"), (otherTarget.OAuthError, otherTarget.Code));
        Assert.Contains("target", otherTarget.Message);

        _clock.Offset = TimeSpan.FromMinutes(6);
        var closed = await Assert.ThrowsAsync<WritApiException>(() => new WritAgentClient(_writ.Http(), new Uri(WritFixture.Issuer + "/"), agent.Id, agent.Key)
            .GetCredentialAsync("volumes:delete", taskId, "vol-1", approvalId: id));
        Assert.Equal(("expired_token", "elevation.window_closed"), (closed.OAuthError, closed.Code));

        await _writ.Service<ApprovalMaintenance>().RunOnceAsync(default);
        Assert.Equal("closed", (await _writ.Admin().GetApprovalAsync(id)).Status);
        var expiry = Assert.Single(await _writ.Admin().SearchAuditAsync(action: "elevation.expire"));
        Assert.Equal(("system", "elevation.window_closed", "carol"), (expiry.ActorKind, expiry.Reason, expiry.OnBehalfOf));
        Assert.Contains("\"revoked\":1", expiry.Details);
        Assert.Empty(await _writ.Admin().ListActiveCredentialsAsync(agent.Id));
    }

    [Fact]
    public async Task ApprovalId_ReplayedForAnotherRequest_OrByAnotherAgent_IsRefused()
    {
        var (agent, taskId, id) = await ApprovedWriteAsync();

        Assert.Equal("approval.mismatch", (await PollFailsAsync(agent, taskId, "crm:write", id, "customers/1")).Code);
        var otherTask = await agent.Client.StartTaskAsync("another task");
        Assert.Equal("approval.mismatch", (await PollFailsAsync(agent, otherTask.Id, "volumes:write", id, "vol-1")).Code);
        Assert.Equal("approval.mismatch", (await PollFailsAsync(agent, taskId, "volumes:delete", id, "vol-1")).Code);

        var (other, otherTaskId) = await AgentWithTaskAsync("other-agent@staging");
        Assert.Equal("approval.not_found", (await PollFailsAsync(other, otherTaskId, "volumes:write", id, "vol-1")).Code);

        // Still unused: the rightful request gets it.
        await agent.Client.GetCredentialAsync("volumes:write", taskId, "vol-1", approvalId: id);
    }

    [Fact]
    public async Task ClientHelper_PollsUntilAHumanApproves()
    {
        var (agent, taskId) = await AgentWithTaskAsync();
        var alice = await _writ.UserAsync("alice", "approver");
        string? seen = null;
        var waiting = agent.Client.GetApprovedCredentialAsync("volumes:write", taskId, Why, "vol-1", onPending: id => seen = id);
        while (seen is null) await Task.Delay(50);
        await alice.ApproveAsync(seen, "go ahead");
        var credential = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("volumes:write", credential.Scope);
    }

    [Fact]
    public async Task PolicyCheck_AgainstUsers_ReportsRulesNobodyCanSatisfy()
    {
        var check = await _writ.Admin().CheckPolicyAsync([new("p.yaml", Policy)]);
        Assert.False(check.Valid);
        Assert.Contains(check.Problems, p => p.Code == "policy.approval_unsatisfiable" && p.Message.Contains("crm:write") && p.Line > 0);

        await _writ.Admin().AddUserAsync("alice", ["approver"], WritFixture.TestPassword);
        await _writ.Admin().AddUserAsync("bob", ["approver"], WritFixture.TestPassword);
        Assert.True((await _writ.Admin().CheckPolicyAsync([new("p.yaml", Policy)])).Valid);

        // A rule that only the agent's owner could meet breaks the two-person rule: reported.
        var ownerOnly = Policy.Replace("delete: { approvers: [group:oncall, dana@example.com], max_window: 10m }", "delete: { approvers: [dana@example.com] }");
        await _writ.Admin().AddUserAsync("dana@example.com", ["approver"], WritFixture.TestPassword);
        var problem = Assert.Single((await _writ.Admin().CheckPolicyAsync([new("p.yaml", ownerOnly)])).Problems);
        Assert.Contains("owns the agent", problem.Message);
    }
}
