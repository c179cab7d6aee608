using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>The evaluator: default deny, a closed set of reason codes, deny &gt; elevation &gt; approval &gt; allow, TTL capping.</summary>
public sealed class CompiledPolicyTests
{
    private const string Yaml = """
        environments: [staging, production]
        resources:
          volumes:
            actions: [read, write, delete, admin]
            environments: [staging, production]
          crm:
            actions: [read, write, delete, send]
            environments: [staging, production]
          billing:
            actions: [read]
            environments: [production]
        roles:
          staging-developer:
            permissions: { volumes: [read, write, delete, admin] }
            preapproved: { volumes: [write] }
            restrictions: [no-bulk]
            max_ttl: 15m
          volume-janitor:
            permissions: { volumes: [delete] }
            preapproved: { volumes: [delete] }
            max_ttl: 2m
            targets: ["vol-tmp-*"]
          support-reader:
            permissions: { crm: [read] }
            restrictions: [no-cross-account]
            max_ttl: 10m
            targets: ["customers/*"]
          support-writer:
            permissions: { crm: [read, write, delete, send] }
            restrictions: [no-delete, no-bulk]
            targets: ["customers/**"]
          long-reader:
            permissions: { crm: [read] }
          auditor:
            permissions: { crm: [read] }
            restrictions: [no-delete]
            max_ttl: 1m
        agents:
          coding-agent@staging:    { kind: ai-agent, owner: dana@example.com, roles: [staging-developer, volume-janitor] }
          support-bot@staging:     { kind: ai-agent, owner: sam@example.com, roles: [support-reader, support-writer] }
          support-bot@production:  { kind: ai-agent, owner: sam@example.com, roles: [support-reader] }
          reader@staging:          { kind: service, owner: ops@example.com, roles: [auditor, long-reader] }
          idle@staging:            { kind: ci, owner: ops@example.com }
        """;

    private static readonly CompiledPolicy Policy = PolicyTestData.Compile(Yaml);

    private static Decision Ask(string agent, string env, string resource, string actions, string? target = null, TimeSpan? ttl = null) =>
        Policy.Evaluate(new AccessRequest(agent, env, resource, actions.Split(' '), target, ttl));

    public static TheoryData<string, string, string, string, string?, DecisionKind, string> Cases => new()
    {
        // agent, env, resource, actions, target, kind, code
        { "coding-agent@staging", "staging", "volumes", "read", null, DecisionKind.Allow, "policy.allow" },
        { "coding-agent@staging", "staging", "volumes", "write", null, DecisionKind.Allow, "policy.allow" },
        { "coding-agent@staging", "staging", "volumes", "delete", null, DecisionKind.ElevationRequired, "policy.elevation_required" },
        { "coding-agent@staging", "staging", "volumes", "admin", null, DecisionKind.ElevationRequired, "policy.elevation_required" },
        { "coding-agent@staging", "staging", "volumes", "delete", "vol-tmp-1", DecisionKind.Allow, "policy.allow" },
        { "coding-agent@staging", "staging", "volumes", "delete", "vol-prod-1", DecisionKind.ElevationRequired, "policy.elevation_required" },
        { "coding-agent@staging", "production", "volumes", "read", null, DecisionKind.Deny, "policy.environment_mismatch" },
        { "coding-agent@staging", "staging", "crm", "read", null, DecisionKind.Deny, "policy.action_not_granted" },
        { "coding-agent@staging", "staging", "volumes", "purge", null, DecisionKind.Deny, "policy.unknown_action" },
        { "coding-agent@staging", "staging", "nope", "read", null, DecisionKind.Deny, "policy.unknown_resource" },
        { "coding-agent@staging", "staging", "billing", "read", null, DecisionKind.Deny, "policy.resource_not_in_environment" },
        { "ghost@staging", "staging", "volumes", "read", null, DecisionKind.Deny, "policy.unknown_agent" },
        { "CODING-AGENT@staging", "staging", "volumes", "read", null, DecisionKind.Deny, "policy.unknown_agent" },
        { "coding-agent", "staging", "volumes", "read", null, DecisionKind.Deny, "policy.unknown_agent" },
        { "", "staging", "volumes", "read", null, DecisionKind.Deny, "policy.unknown_agent" },
        { "idle@staging", "staging", "volumes", "read", null, DecisionKind.Deny, "policy.action_not_granted" },
        { "support-bot@staging", "staging", "crm", "read", "customers/42", DecisionKind.Allow, "policy.allow" },
        { "support-bot@staging", "staging", "crm", "read", null, DecisionKind.Deny, "policy.target_required" },
        { "support-bot@staging", "staging", "crm", "read", "orders/42", DecisionKind.Deny, "policy.target_not_allowed" },
        { "support-bot@staging", "staging", "crm", "read", "customers/42/notes", DecisionKind.Allow, "policy.allow" },
        { "support-bot@staging", "staging", "crm", "write", "customers/42/notes", DecisionKind.ApprovalRequired, "policy.approval_required" },
        { "support-bot@production", "production", "crm", "read", "customers/42/notes", DecisionKind.Deny, "policy.target_not_allowed" },
        { "support-bot@staging", "staging", "crm", "write", "customers/42", DecisionKind.ApprovalRequired, "policy.approval_required" },
        { "support-bot@staging", "staging", "crm", "send", "customers/42", DecisionKind.ApprovalRequired, "policy.approval_required" },
        { "support-bot@staging", "staging", "crm", "delete", "customers/42", DecisionKind.Deny, "policy.restricted" },
        { "support-bot@production", "production", "crm", "write", "customers/42", DecisionKind.Deny, "policy.action_not_granted" },
        { "support-bot@production", "staging", "crm", "read", "customers/42", DecisionKind.Deny, "policy.environment_mismatch" },
        { "support-bot@production", "production", "crm", "read", "customers/*", DecisionKind.Deny, "policy.invalid_request" },
        { "support-bot@production", "production", "crm", "read", "customers/../admin", DecisionKind.Deny, "policy.invalid_request" },
        { "support-bot@production", "production", "crm", "read", "customers//1", DecisionKind.Deny, "policy.invalid_request" },
        { "support-bot@production", "production", "crm", "read", "customers/a b", DecisionKind.Deny, "policy.invalid_request" },
        // combining actions: deny > elevation > approval > allow
        { "coding-agent@staging", "staging", "volumes", "read write", null, DecisionKind.Allow, "policy.allow" },
        { "coding-agent@staging", "staging", "volumes", "read delete", null, DecisionKind.ElevationRequired, "policy.elevation_required" },
        { "support-bot@staging", "staging", "crm", "read write", "customers/1", DecisionKind.ApprovalRequired, "policy.approval_required" },
        { "support-bot@staging", "staging", "crm", "write delete", "customers/1", DecisionKind.Deny, "policy.restricted" },
        { "coding-agent@staging", "staging", "volumes", "delete write purge", null, DecisionKind.Deny, "policy.unknown_action" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Table(string agent, string env, string resource, string actions, string? target, DecisionKind kind, string code)
    {
        var d = Ask(agent, env, resource, actions, target);
        Assert.Equal((kind, code), (d.Kind, d.Code));
        if (kind == DecisionKind.Deny)
        {
            Assert.Equal(TimeSpan.Zero, d.Ttl);
            Assert.Empty(d.Restrictions);
        }
        else
        {
            Assert.True(d.Ttl > TimeSpan.Zero);
        }
    }

    [Fact]
    public void Evaluate_EnvironmentMismatch_SaysWho()
    {
        Assert.Equal("coding-agent@staging cannot act in production", Ask("coding-agent@staging", "production", "volumes", "read").Message);
    }

    [Fact]
    public void Evaluate_NotGranted_NamesAgentResourceAndAction()
    {
        Assert.Equal("no role of support-bot@production grants crm:write", Ask("support-bot@production", "production", "crm", "write", "customers/1").Message);
    }

    [Fact]
    public void Evaluate_DenyMessages_NameAgentResourceAndAction()
    {
        foreach (var (resource, action, target) in new[] { ("crm", "delete", "customers/1"), ("crm", "read", (string?)null), ("crm", "read", "orders/1"), ("crm", "purge", "customers/1") })
        {
            var d = Ask("support-bot@staging", "staging", resource, action, target);
            Assert.Equal(DecisionKind.Deny, d.Kind);
            Assert.Contains("support-bot@staging", d.Message);
            Assert.Contains(resource, d.Message);
            Assert.Contains(action, d.Message);
        }
    }

    [Fact]
    public void Evaluate_MalformedInput_IsNotEchoed()
    {
        var d = Ask("coding-agent@staging", "prod\nuction<script>", "volumes", "read");
        Assert.Equal("policy.environment_mismatch", d.Code);
        Assert.DoesNotContain("<script>", d.Message);
        var unknown = Policy.Evaluate(new AccessRequest("x\u0000@y", "staging", "volumes", ["read"], null, null));
        Assert.Equal("policy.unknown_agent", unknown.Code);
        Assert.False(unknown.Message.Contains('\0'));
    }

    [Fact]
    public void Evaluate_ApprovalAndElevation_SayWhatIsNeeded()
    {
        Assert.Contains("justification and a human approval", Ask("support-bot@staging", "staging", "crm", "write", "customers/1").Message);
        Assert.Contains("time-limited elevation approved by a human", Ask("coding-agent@staging", "staging", "volumes", "delete").Message);
    }

    [Fact]
    public void Evaluate_ElevationMessage_NamesOnlyTheActionsThatNeedIt()
    {
        var d = Ask("coding-agent@staging", "staging", "volumes", "read write delete");
        Assert.Contains("to delete volumes", d.Message);
    }

    // ---------------------------------------------------------------- TTL

    [Fact]
    public void Evaluate_NoTtlRequested_GetsFiveMinuteDefault()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), Ask("coding-agent@staging", "staging", "volumes", "read").Ttl);
    }

    [Fact]
    public void Evaluate_DefaultTtl_IsCappedByRole()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), Ask("coding-agent@staging", "staging", "volumes", "delete", "vol-tmp-1").Ttl);
    }

    [Fact]
    public void Evaluate_LongTtl_IsCappedNotDenied()
    {
        var d = Ask("coding-agent@staging", "staging", "volumes", "read", ttl: TimeSpan.FromDays(3));
        Assert.Equal((DecisionKind.Allow, TimeSpan.FromMinutes(15)), (d.Kind, d.Ttl));
    }

    [Fact]
    public void Evaluate_RoleWithoutMaxTtl_IsCappedAtEightHours()
    {
        var d = Ask("support-bot@staging", "staging", "crm", "write", "customers/1", TimeSpan.FromDays(3));
        Assert.Equal(CompiledPolicy.HardCap, d.Ttl);
    }

    [Fact]
    public void Evaluate_ShortTtl_IsKept()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Ask("coding-agent@staging", "staging", "volumes", "read", ttl: TimeSpan.FromSeconds(30)).Ttl);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-60)]
    public void Evaluate_NonPositiveTtl_IsInvalidRequest(int seconds)
    {
        Assert.Equal("policy.invalid_request", Ask("coding-agent@staging", "staging", "volumes", "read", ttl: TimeSpan.FromSeconds(seconds)).Code);
    }

    [Fact]
    public void Evaluate_NoActions_IsInvalidRequest()
    {
        Assert.Equal("policy.invalid_request", Policy.Evaluate(new AccessRequest("coding-agent@staging", "staging", "volumes", [], null, null)).Code);
    }

    [Fact]
    public void Evaluate_EqualLevels_PreferTheRoleWithTheLongerMaxTtl()
    {
        var d = Ask("reader@staging", "staging", "crm", "read", ttl: TimeSpan.FromHours(9));
        Assert.Equal(TimeSpan.FromHours(8), d.Ttl);
        Assert.Contains("long-reader", d.Message);
    }

    [Fact]
    public void Evaluate_MultipleActions_TakeTheSmallestMaxTtlOfTheRolesUsed()
    {
        // read via staging-developer (15m), delete via volume-janitor (2m)
        var d = Ask("coding-agent@staging", "staging", "volumes", "read delete", "vol-tmp-1", TimeSpan.FromHours(1));
        Assert.Equal((DecisionKind.Allow, TimeSpan.FromMinutes(2)), (d.Kind, d.Ttl));
        Assert.Contains("roles staging-developer, volume-janitor", d.Message);
    }

    // ---------------------------------------------------------------- roles and restrictions

    [Fact]
    public void Evaluate_MostPermissiveRoleWins_AndItsRestrictionsAreReported()
    {
        var d = Ask("coding-agent@staging", "staging", "volumes", "delete", "vol-tmp-9");
        Assert.Equal(DecisionKind.Allow, d.Kind);
        Assert.Contains("volume-janitor", d.Message);
        Assert.Empty(d.Restrictions);
    }

    [Fact]
    public void Evaluate_Restrictions_AreTheUnionOfRolesUsed()
    {
        // read via support-reader (10m, no-cross-account): support-writer's read needs customers/**, send via support-writer
        var reader = Ask("support-bot@production", "production", "crm", "read", "customers/1");
        Assert.Equal(["no-cross-account"], reader.Restrictions);
        var d = Ask("support-bot@staging", "staging", "crm", "read write", "customers/1");
        Assert.Equal(["no-bulk", "no-delete"], d.Restrictions);
        var both = Ask("coding-agent@staging", "staging", "volumes", "read delete", "vol-tmp-1");
        Assert.Equal(["no-bulk"], both.Restrictions);
    }

    [Fact]
    public void Evaluate_OnlyRolesWhoseTargetsMatch_AreUsed()
    {
        // customers/1/notes matches support-writer's customers/** but not support-reader's customers/*
        var d = Ask("support-bot@staging", "staging", "crm", "read", "customers/1/notes");
        Assert.Equal(DecisionKind.Allow, d.Kind);
        Assert.Contains("support-writer", d.Message);
        Assert.Equal(["no-bulk", "no-delete"], d.Restrictions);
    }

    [Fact]
    public void Evaluate_SameRequest_ReturnsEqualDecisions()
    {
        Assert.Equal(Ask("coding-agent@staging", "staging", "volumes", "read"), Ask("coding-agent@staging", "staging", "volumes", "read"));
    }

    [Fact]
    public void Compile_EmptyPolicy_DeniesEverything()
    {
        var policy = CompiledPolicy.Compile(PolicyModel.Empty, 0, "");
        Assert.Equal("policy.unknown_agent", policy.Evaluate(new AccessRequest("a@b", "b", "c", ["read"], null, null)).Code);
    }

    [Fact]
    public void Compile_KeepsVersionHashAndModel()
    {
        var model = PolicyTestData.LoadValid(Yaml);
        var policy = CompiledPolicy.Compile(model, 7, "abc");
        Assert.Equal((7, "abc"), (policy.Version, policy.Sha256));
        Assert.Same(model, policy.Model);
    }

    [Fact]
    public void Compile_HandBuiltModelWithDanglingReferences_GrantsNothing()
    {
        var model = PolicyModel.Empty with
        {
            Agents = new Dictionary<string, AgentDef> { ["a@staging"] = new("a@staging", "ai-agent", "o", ["missing-role"], null) },
        };
        var policy = CompiledPolicy.Compile(model, 1, "x");
        Assert.Equal("policy.unknown_agent", policy.Evaluate(new AccessRequest("a@staging", "staging", "volumes", ["read"], null, null)).Code);
    }
}
