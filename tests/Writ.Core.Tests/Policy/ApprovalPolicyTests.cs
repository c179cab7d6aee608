using Writ.Core.Approvals;
using Writ.Core.Humans;
using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>Approval rules in policy: read, validated with positions, compiled into decisions, and checked against real users.</summary>
public sealed class ApprovalPolicyTests
{
    private const string Base = """
        environments: { staging: {} }
        groups:
          oncall: [alice, bob]
        resources:
          volumes: { actions: [read, write, delete], environments: [staging] }
        roles:
          dev:
            permissions:
              volumes: [read, write, delete]
            max_ttl: 30m
            approvals:
              volumes:
                write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }
                delete: { approvers: [group:oncall], max_window: 20m, owner_may_approve: true }
        agents:
          coding-agent@staging: { kind: ai-agent, owner: dana, roles: [dev] }
        """;

    private static readonly User Alice = new("alice", [HumanRoles.Approver], UserStatuses.Active, "", 0, null, DateTimeOffset.UnixEpoch, null);

    [Fact]
    public void Rules_CompileIntoTheDecision_WithGroupsExpanded()
    {
        var policy = PolicyTestData.Compile(Base);
        var write = policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", ["write"], null, null));
        Assert.Equal(DecisionKind.ApprovalRequired, write.Kind);
        Assert.Equal(["alice", "bob", "carol"], write.Approval!.Approvers);
        Assert.Equal((2, 25, TimeSpan.FromMinutes(10)), (write.Approval.Required, write.Approval.MinJustificationLength, write.Approval.MaxGrant));

        var delete = policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", ["delete"], null, null));
        Assert.Equal(DecisionKind.ElevationRequired, delete.Kind);
        Assert.Equal((TimeSpan.FromMinutes(20), true), (delete.Approval!.MaxWindow, delete.Approval.OwnerMayApprove));

        Assert.Null(policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", ["read"], null, null)).Approval);
    }

    [Fact]
    public void SeveralActions_TakeTheStrictestOfTheirRules()
    {
        var policy = PolicyTestData.Compile(Base);
        var both = policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", ["write", "delete"], null, null));
        Assert.Equal(DecisionKind.ElevationRequired, both.Kind);
        // Both rules hold: only approvers both accept, the write rule's two approvals, justification and grant, the delete rule's window.
        Assert.Equal(["alice", "bob"], both.Approval!.Approvers);
        Assert.Equal((2, 25, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20)),
            (both.Approval.Required, both.Approval.MinJustificationLength, both.Approval.MaxGrant, both.Approval.MaxWindow));
        Assert.Contains("write, delete", both.Message);
    }

    [Fact]
    public void Strictest_OfTwoNamedListsWithNobodyInCommon_IsNoOne_NotAnyone()
    {
        var a = ApprovalRule.Default(TimeSpan.FromMinutes(5)) with { Approvers = ["alice"] };
        var b = ApprovalRule.Default(TimeSpan.FromMinutes(5)) with { Approvers = ["bob"], Required = 2 };
        var merged = ApprovalRule.Strictest([a, b]);
        Assert.False(merged.AnyApprover);
        Assert.Equal([ApprovalRule.NoOne], merged.Approvers);
        Assert.Equal(2, merged.Required);
    }

    [Fact]
    public void DefaultRule_IsAnyApprover_OneApproval_JustificationOfTen_FifteenMinuteWindow_TwoPersonRule()
    {
        var withoutRules = string.Join('\n', Base.Split('\n').Where(l => !l.Contains("approvals:") && !l.Contains("write: {") && !l.Contains("delete: {") && l != "      volumes:"));
        var policy = PolicyTestData.Compile(withoutRules);
        var rule = policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", ["delete"], null, null)).Approval!;
        Assert.True(rule.AnyApprover);
        Assert.Equal((1, true, 10, TimeSpan.FromMinutes(15), false, TimeSpan.FromMinutes(30)),
            (rule.Required, rule.JustificationRequired, rule.MinJustificationLength, rule.MaxWindow, rule.OwnerMayApprove, rule.MaxGrant));
    }

    [Theory]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { approvers: [group:nightshift] }", "policy.unknown_group")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { approvers: [carol], required: 2 }", "policy.approval_unsatisfiable")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { required: 0 }", "policy.invalid_approval_rule")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { max_window: 10m }", "policy.invalid_approval_rule")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { max_grant: 9h }", "policy.ttl_over_cap")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { approvers: [Carol] }", "policy.invalid_name")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "read: {}", "policy.approval_rule_unused")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { aprovers: [carol] }", "policy.unknown_key")]
    [InlineData("delete: { approvers: [group:oncall], max_window: 20m, owner_may_approve: true }", "delete: { max_window: 2h }", "policy.window_over_cap")]
    [InlineData("write: { approvers: [group:oncall, carol], required: 2, justification: 25, max_grant: 10m }", "write: { max_grant: 999999999h }", "policy.ttl_over_cap")]
    [InlineData("delete: { approvers: [group:oncall], max_window: 20m, owner_may_approve: true }", "delete: { max_window: 999999999h }", "policy.window_over_cap")]
    [InlineData("delete: { approvers: [group:oncall], max_window: 20m, owner_may_approve: true }", "delete: { owner_may_approve: maybe }", "policy.invalid_approval_rule")]
    public void BadRules_AreReported_WithTheirPosition(string line, string replacement, string code)
    {
        var result = PolicyTestData.Load(Base.Replace(line, replacement));
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(code, d.Code);
        Assert.True(d.Line >= 13, d.ToString()); // on the rule's line, not somewhere vague
        Assert.Equal("policy.yaml", d.File);
    }

    [Fact]
    public void ApproversThatExpandToNobody_NeverMeanAnyone()
    {
        var result = PolicyTestData.Load(Base.Replace("oncall: [alice, bob]", "oncall: []").Replace("approvers: [group:oncall], max_window", "approvers: [group:oncall], max_window"));
        Assert.Contains(result.Diagnostics, d => d.Code == PolicyCodes.EmptyGroup);
        var rule = result.Policy!.Roles["dev"].Approvals.Single(a => a.Action == "delete").Rule;
        Assert.False(rule.AnyApprover);
        Assert.Equal([ApprovalRule.NoOne], rule.Approvers);
    }

    [Theory]
    [InlineData("\" Alice\u200B \"")]
    [InlineData("Dana Smith")]
    [InlineData("\"dana\\nbob\"")]
    public void Owner_ThatCannotBeComparedWithUserNames_IsRefused(string owner) =>
        Assert.Equal(PolicyCodes.InvalidOwner, Assert.Single(PolicyTestData.Load(Base.Replace("owner: dana", "owner: " + owner)).Diagnostics).Code);

    [Fact]
    public void Owner_InAnyLetterCase_IsStillTheOwner()
    {
        var model = PolicyTestData.LoadValid(Base.Replace("owner_may_approve: true", "owner_may_approve: false").Replace("owner: dana", "owner: Alice")
            .Replace("approvers: [group:oncall], max_window", "approvers: [alice], max_window"));
        Assert.Contains("owns the agent", Assert.Single(ApprovalFeasibility.Check(model, [Alice, Alice with { Name = "bob" }, Alice with { Name = "carol" }])).Message);
    }

    [Fact]
    public void Feasibility_CountsOnlyActiveApprovers_AndSetsTheOwnerAside()
    {
        var model = PolicyTestData.LoadValid(Base.Replace("owner_may_approve: true", "owner_may_approve: false").Replace("owner: dana", "owner: alice"));
        var bob = Alice with { Name = "bob" };
        var carol = Alice with { Name = "carol" };

        // write needs 2 of alice, bob, carol; delete needs 1 of alice, bob but alice owns the agent.
        Assert.Empty(ApprovalFeasibility.Check(model, [Alice, bob, carol]));
        var withoutBob = ApprovalFeasibility.Check(model, [Alice, carol, bob with { Status = UserStatuses.Disabled }]);
        var d = Assert.Single(withoutBob);
        Assert.Equal(PolicyCodes.ApprovalUnsatisfiable, d.Code);
        Assert.Contains("volumes:delete", d.Message);
        Assert.Contains("alice owns the agent", d.Message);
        Assert.Equal(14, d.Line);

        var auditorsOnly = ApprovalFeasibility.Check(model, [Alice with { Roles = [HumanRoles.Auditor] }, bob with { Roles = [HumanRoles.Admin] }]);
        Assert.Equal(2, auditorsOnly.Count);
    }
}
