using System.Net;
using System.Net.Http.Json;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Xunit;

namespace Writ.Server.Tests.Humans;

/// <summary>Human operators: password login, lockout, sessions, roles on every endpoint, and the audit trail they leave.</summary>
public sealed class UserTests : IAsyncLifetime
{
    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Fact]
    public async Task Login_GivesAnEightHourSession_StoredOnlyAsItsHash()
    {
        await _writ.Admin().AddUserAsync("alice", ["approver"], WritFixture.TestPassword);
        var session = await WritAdminClient.LoginAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), "alice", WritFixture.TestPassword);

        Assert.StartsWith("writ_session_", session.Token);
        Assert.InRange(session.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(7.9), TimeSpan.FromHours(8));
        var me = await new WritAdminClient(_writ.Http(), new Uri(WritFixture.Issuer + "/"), session.Token).WhoAmIAsync();
        Assert.Equal(("human", "alice"), (me.Kind, me.Name));
        Assert.Equal(["approver"], me.Roles);

        var db = await _writ.DumpDatabaseAsync();
        Assert.DoesNotContain(session.Token, db);
        Assert.DoesNotContain(WritFixture.TestPassword, db);
        Assert.DoesNotContain(WritFixture.TestPassword, string.Join("\n", _writ.Logs.Lines));
    }

    [Fact]
    public async Task WrongPassword_FiveTimes_LocksTheAccount_EvenForTheRightPassword_AndEveryAttemptIsAudited()
    {
        await _writ.Admin().AddUserAsync("bob", ["approver"], WritFixture.TestPassword);
        for (var i = 1; i <= 4; i++)
        {
            var e = await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("bob", "wrong password " + i));
            Assert.Equal(("auth.invalid_credentials", 401), (e.Code, e.Status));
        }
        var fifth = await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("bob", "wrong password 5"));
        Assert.Equal(("auth.locked", 429), (fifth.Code, fifth.Status));

        var right = await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("bob"));
        Assert.Equal("auth.locked", right.Code);

        var attempts = await _writ.Admin().SearchAuditAsync(action: "user.login", actor: "bob");
        Assert.Equal(6, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(("human", "deny"), (a.ActorKind, a.Decision)));
        Assert.Equal(["auth.invalid_credentials", "auth.invalid_credentials", "auth.invalid_credentials", "auth.invalid_credentials", "auth.locked_out", "auth.locked"],
            attempts.Select(a => a.Reason ?? "").ToArray());
    }

    [Fact]
    public async Task ParallelGuesses_GetNoMoreTriesThanTheLimit()
    {
        await _writ.Admin().AddUserAsync("bob", ["approver"], WritFixture.TestPassword);
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
        {
            try { await _writ.LoginAsync("bob", "guess number " + i); return "ok"; }
            catch (WritApiException e) { return e.Code; }
        }));
        Assert.Equal(4, answers.Count(a => a == "auth.invalid_credentials"));
        Assert.Equal(8, answers.Count(a => a == "auth.locked"));
        Assert.Equal("auth.locked", (await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("bob"))).Code);
    }

    [Fact]
    public async Task UnknownUser_GetsTheSameAnswerAsAWrongPassword()
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("nobody"));
        Assert.Equal(("auth.invalid_credentials", 401), (e.Code, e.Status));
        Assert.Equal("wrong user name or password", e.Message);
        var audited = Assert.Single(await _writ.Admin().SearchAuditAsync(action: "user.login"));
        Assert.Equal(("unknown", "claimed:nobody"), (audited.ActorKind, audited.ActorId));
    }

    [Fact]
    public async Task Logout_And_Disable_EndSessionsAtOnce()
    {
        var alice = await _writ.UserAsync("alice", "auditor");
        await alice.WhoAmIAsync();
        await alice.LogoutAsync();
        Assert.Equal("auth.invalid_token", (await Assert.ThrowsAsync<WritApiException>(() => alice.WhoAmIAsync())).Code);

        var carol = await _writ.UserAsync("carol", "approver");
        await _writ.Admin().DisableUserAsync("carol");
        Assert.Equal("auth.invalid_token", (await Assert.ThrowsAsync<WritApiException>(() => carol.WhoAmIAsync())).Code);
        var again = await Assert.ThrowsAsync<WritApiException>(() => _writ.LoginAsync("carol"));
        Assert.Equal(("auth.user_disabled", 403), (again.Code, again.Status));
    }

    [Fact]
    public async Task Roles_AreCheckedOnEveryHumanEndpoint()
    {
        var auditor = await _writ.UserAsync("audrey", "auditor");
        var approver = await _writ.UserAsync("alice", "approver");
        var admin = await _writ.UserAsync("adam", "admin");

        // Auditors read the audit log and the inventory, and change nothing.
        await auditor.SearchAuditAsync();
        await auditor.ListAgentsAsync();
        await auditor.GetPolicyHistoryAsync();
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => auditor.SuspendAgentAsync("coding-agent@staging"))).Code);
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => auditor.ApplyPolicyAsync([new("p.yaml", WritFixture.Policy)]))).Code);
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => auditor.AddUserAsync("eve", ["admin"], WritFixture.TestPassword))).Code);
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => auditor.ApproveAsync("apr_x", "ok"))).Code);

        // Approvers see and decide approvals, nothing else.
        await approver.ListApprovalsAsync();
        var denied = await Assert.ThrowsAsync<WritApiException>(() => approver.SearchAuditAsync());
        Assert.Equal(("auth.role_required", 403), (denied.Code, denied.Status));
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => approver.CreateEnrollmentCodeAsync("coding-agent@staging"))).Code);

        // Admins manage; they do not approve (that takes the approver role).
        await admin.CreateEnrollmentCodeAsync("coding-agent@staging");
        await admin.AddUserAsync("eve", ["auditor"], WritFixture.TestPassword);
        Assert.Equal("auth.role_required", (await Assert.ThrowsAsync<WritApiException>(() => admin.ApproveAsync("apr_x", "ok"))).Code);

        var refused = await _writ.Admin().SearchAuditAsync(action: "human.auth");
        Assert.Contains(refused, r => (r.ActorKind, r.ActorId, r.Reason, r.Target) == ("human", "audrey", "auth.role_required", "POST /api/policy"));
    }

    [Fact]
    public async Task AgentToken_OnHumanEndpoints_Is403AgentForbidden()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        foreach (var (method, path) in new[] { ("GET", "api/approvals"), ("POST", "api/approvals/apr_x/approve"), ("GET", "api/users"), ("POST", "api/users"), ("GET", "api/whoami"), ("POST", "api/logout") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? JsonContent.Create(new { reason = "x" }) : null };
            request.Headers.TryAddWithoutValidation("Authorization", "DPoP " + credential.AccessToken);
            using var response = await _writ.Http().SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("auth.agent_forbidden", await response.Content.ReadAsStringAsync());
        }
        var refusals = await _writ.Admin().SearchAuditAsync(action: "human.auth");
        Assert.Equal(6, refusals.Count(r => r.Reason == "auth.agent_forbidden"));
        Assert.Contains(refusals, r => r.Target == "POST /api/approvals/apr_x/approve" && r.Decision == "deny");
        Assert.DoesNotContain(credential.AccessToken, string.Join("\n", refusals.Select(r => r.Target + r.Details)));
    }

    [Theory]
    [InlineData("Alice", "approver", "user.invalid_name")]
    [InlineData("alice", "root", "user.invalid_role")]
    [InlineData("alice", "", "user.invalid_role")]
    public async Task AddUser_BadInput_IsRefusedWithAStableCode(string name, string role, string code)
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().AddUserAsync(name, role.Length == 0 ? [] : [role], WritFixture.TestPassword));
        Assert.Equal((code, 400), (e.Code, e.Status));
        Assert.Empty(await _writ.Admin().ListUsersAsync());
    }

    [Fact]
    public async Task AddUser_ShortPassword_Or_Twice_IsRefused()
    {
        var weak = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().AddUserAsync("alice", ["approver"], "short"));
        Assert.Equal("user.weak_password", weak.Code);
        Assert.DoesNotContain("short", weak.Message.Replace("at least", ""));
        await _writ.Admin().AddUserAsync("alice", ["approver"], WritFixture.TestPassword);
        var twice = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().AddUserAsync("alice", ["admin"], WritFixture.TestPassword));
        Assert.Equal(("user.conflict", 409), (twice.Code, twice.Status));
        Assert.Equal(["approver"], Assert.Single(await _writ.Admin().ListUsersAsync()).Roles);
    }
}
