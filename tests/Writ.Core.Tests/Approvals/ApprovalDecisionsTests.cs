using Writ.Core.Approvals;
using Writ.Core.Humans;

namespace Writ.Core.Tests.Approvals;

/// <summary>The approval rules as pure functions: who may decide, what a decision changes, what a poll returns.</summary>
public sealed class ApprovalDecisionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly ApprovalBinding Request = new("coding-agent@staging", "task_1", "volumes", "staging", "volumes:delete", "vol-1", null);

    private static Approval Elevation(ApprovalRule? rule = null) => new(
        "apr_1", ApprovalKinds.Elevation, ApprovalStatuses.Pending, Request, "carol", "dana", "orphaned volume after migration",
        rule ?? ApprovalRule.Default(TimeSpan.FromMinutes(15)), T0, T0.AddMinutes(15), [], null, null, null, 1);

    private static User Approver(string name) => new(name, [HumanRoles.Approver], UserStatuses.Active, "", 0, null, T0, null);

    [Fact]
    public void Approve_StartsTheWindow_AtTheShortestGranted()
    {
        var rule = ApprovalRule.Default(TimeSpan.FromMinutes(15)) with { Required = 2 };
        var once = ApprovalDecisions.Decide(Elevation(rule), Approver("alice"), true, "ok", TimeSpan.FromMinutes(10), T0.AddMinutes(1)).Value;
        Assert.Equal(ApprovalStatuses.Pending, once.Status);
        var twice = ApprovalDecisions.Decide(once, Approver("bob"), true, "ok", TimeSpan.FromMinutes(5), T0.AddMinutes(2)).Value;
        Assert.Equal(ApprovalStatuses.Approved, twice.Status);
        Assert.Equal(T0.AddMinutes(2 + 5), twice.WindowEndsAt);
    }

    [Theory]
    [InlineData("carol", "approval.self_approval")]
    [InlineData("dana", "approval.owner_not_allowed")]
    public void Requester_And_Owner_CannotApproveAnElevation(string who, string code) =>
        Assert.Equal(code, ApprovalDecisions.Decide(Elevation(), Approver(who), true, "ok", null, T0).Error!.Code);

    [Theory]
    [InlineData("Carol", "approval.self_approval")]
    [InlineData("carol ", "approval.self_approval")]
    [InlineData("c\u200Barol", "approval.self_approval")]
    public void Requester_WrittenDifferently_IsStillTheRequester(string onBehalfOf, string code) =>
        Assert.Equal(code, ApprovalDecisions.Decide(Elevation() with { OnBehalfOf = onBehalfOf }, Approver("carol"), true, "ok", null, T0).Error!.Code);

    [Theory]
    [InlineData("Dana")]
    [InlineData("ＤＡＮＡ")]
    public void Owner_WrittenDifferently_IsStillTheOwner(string owner) =>
        Assert.Equal("approval.owner_not_allowed", ApprovalDecisions.Decide(Elevation() with { AgentOwner = owner }, Approver("dana"), true, "ok", null, T0).Error!.Code);

    [Fact]
    public void Owner_MayApprove_WhenThePolicySaysSo() =>
        Assert.True(ApprovalDecisions.Decide(Elevation(ApprovalRule.Default(TimeSpan.FromMinutes(5)) with { OwnerMayApprove = true }), Approver("dana"), true, "ok", null, T0).IsSuccess);

    [Fact]
    public void Refusals_HaveStableCodes()
    {
        var disabled = Approver("alice") with { Status = UserStatuses.Disabled };
        var auditor = Approver("alice") with { Roles = [HumanRoles.Auditor] };
        Assert.Equal("auth.user_disabled", ApprovalDecisions.Decide(Elevation(), disabled, true, "ok", null, T0).Error!.Code);
        Assert.Equal("approval.not_approver", ApprovalDecisions.Decide(Elevation(), auditor, true, "ok", null, T0).Error!.Code);
        Assert.Equal("approval.reason_required", ApprovalDecisions.Decide(Elevation(), Approver("alice"), true, "  ", null, T0).Error!.Code);
        Assert.Equal("approval.invalid_reason", ApprovalDecisions.Decide(Elevation(), Approver("alice"), true, "ok\u0007", null, T0).Error!.Code);
        Assert.Equal("approval.expired", ApprovalDecisions.Decide(Elevation(), Approver("alice"), true, "ok", null, T0.AddMinutes(15)).Error!.Code);
        Assert.Equal("approval.invalid_window", ApprovalDecisions.Decide(Elevation(), Approver("alice"), true, "ok", TimeSpan.FromMinutes(16), T0).Error!.Code);
        Assert.Equal("approval.invalid_window", ApprovalDecisions.Decide(Elevation(), Approver("alice"), true, "ok", TimeSpan.Zero, T0).Error!.Code);
        var named = Elevation(ApprovalRule.Default(TimeSpan.FromMinutes(5)) with { Approvers = ["bob"] });
        Assert.Equal("approval.not_eligible", ApprovalDecisions.Decide(named, Approver("alice"), true, "ok", null, T0).Error!.Code);
        var denied = ApprovalDecisions.Decide(Elevation(), Approver("alice"), false, "no", null, T0).Value;
        Assert.Equal(ApprovalStatuses.Denied, denied.Status);
        Assert.Equal("approval.not_pending", ApprovalDecisions.Decide(denied, Approver("bob"), true, "ok", null, T0).Error!.Code);
    }

    [Fact]
    public void Redeem_AnswersInTheCibaVocabulary()
    {
        var pending = Elevation();
        Assert.Equal("authorization_pending", ApprovalDecisions.Redeem(pending, Request, T0).OAuthError);
        Assert.Equal("expired_token", ApprovalDecisions.Redeem(pending, Request, T0.AddMinutes(15)).OAuthError);

        var approved = ApprovalDecisions.Decide(pending, Approver("alice"), true, "ok", TimeSpan.FromMinutes(10), T0).Value;
        Assert.True(ApprovalDecisions.Redeem(approved, Request, T0.AddMinutes(9)).IsGranted);
        Assert.Equal("elevation.window_closed", ApprovalDecisions.Redeem(approved, Request, T0.AddMinutes(10)).Error!.Code);
        Assert.Equal("approval.mismatch", ApprovalDecisions.Redeem(approved, Request with { Target = "vol-2" }, T0).Error!.Code);
        Assert.Equal("approval.mismatch", ApprovalDecisions.Redeem(approved, Request with { TtlSeconds = 60 }, T0).Error!.Code);
        Assert.Equal("approval.used", ApprovalDecisions.Redeem(approved with { Status = ApprovalStatuses.Used }, Request, T0).Error!.Code);
        Assert.Equal("access_denied", ApprovalDecisions.Redeem(ApprovalDecisions.Decide(pending, Approver("alice"), false, "no", null, T0).Value, Request, T0).OAuthError);
    }

    [Theory]
    [InlineData(null, "approval.justification_required")]
    [InlineData("too short", "approval.justification_too_short")]
    [InlineData("line one\u0000line two is long enough", "approval.invalid_justification")]
    [InlineData("delete vol-7\u202E1-lov tsurt", "approval.invalid_justification")]
    public void Justification_IsChecked(string? text, string code) =>
        Assert.Equal(code, ApprovalDecisions.CheckJustification(ApprovalRule.Default(TimeSpan.FromMinutes(5)), text)!.Code);

    [Fact]
    public void Binding_Hash_SeparatesFields()
    {
        var a = Request with { Target = "a b", Scope = "x" };
        var b = Request with { Target = "a", Scope = "b x" };
        Assert.NotEqual(a.Hash(), b.Hash());
        Assert.Equal(Request.Hash(), (Request with { }).Hash());
        Assert.NotEqual(Request.Hash(), (Request with { Target = null }).Hash());
    }
}

public sealed class PasswordHashingTests
{
    [Fact]
    public void Hash_Verifies_OnlyTheRightPassword_AndIsSalted()
    {
        var hash = PasswordHashing.Hash("correct horse battery staple", 20_000);
        Assert.StartsWith("pbkdf2-sha512$20000$", hash);
        Assert.True(PasswordHashing.Verify("correct horse battery staple", hash));
        Assert.False(PasswordHashing.Verify("correct horse battery stapl", hash));
        Assert.NotEqual(hash, PasswordHashing.Hash("correct horse battery staple", 20_000));
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("pbkdf2-sha512$1$AAAA$AAAA")]
    [InlineData("pbkdf2-sha512$20000$!!!$AAAA")]
    [InlineData("pbkdf2-sha512$20000$AAAA$AAAA\n")]
    [InlineData("md5$20000$AAAA$AAAA")]
    public void Verify_RefusesMalformedStoredValues(string stored) => Assert.False(PasswordHashing.Verify("anything", stored));

    [Theory]
    [InlineData(null)]
    [InlineData("short")]
    [InlineData("            ")]
    public void Problem_NamesWeakPasswords(string? password) => Assert.NotNull(PasswordHashing.Problem(password));

    [Theory]
    [InlineData("alice\n")]
    [InlineData("Alice")]
    [InlineData("alice bob")]
    [InlineData("")]
    public void UserNames_RefuseNearMisses(string name) => Assert.False(UserNames.IsValid(name));
}
