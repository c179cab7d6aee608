using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>The demo policy the server loads with --dev must be valid and must tell the incident story.</summary>
public sealed class DemoPolicyTests
{
    private static CompiledPolicy Demo()
    {
        var sources = PolicyLoader.ReadPath(PolicyTestData.DemoPath);
        var result = PolicyLoader.Load(sources);
        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        return CompiledPolicy.Compile(result.Policy!, 1, PolicyLoader.ComputeSha256(sources));
    }

    private static Decision Ask(string agent, string env, string resource, string actions, string? target = null, TimeSpan? ttl = null) =>
        Demo().Evaluate(new AccessRequest(agent, env, resource, actions.Split(' '), target, ttl));

    [Fact]
    public void Demo_LoadsWithoutDiagnostics() => Demo();

    [Fact]
    public void Demo_CodingAgentInProduction_IsDenied()
    {
        var d = Ask("coding-agent@staging", "production", "volumes", "delete");
        Assert.Equal(DecisionKind.Deny, d.Kind);
        Assert.Equal("policy.environment_mismatch", d.Code);
        Assert.Equal("coding-agent@staging cannot act in production", d.Message);
    }

    [Fact]
    public void Demo_CodingAgentDeletesStagingVolume_NeedsElevation()
    {
        var d = Ask("coding-agent@staging", "staging", "volumes", "delete");
        Assert.Equal(DecisionKind.ElevationRequired, d.Kind);
        Assert.Equal("policy.elevation_required", d.Code);
    }

    [Fact]
    public void Demo_CodingAgentTouchesBackups_IsNotGranted()
    {
        var d = Ask("coding-agent@staging", "staging", "volume-backups", "delete");
        Assert.Equal("policy.action_not_granted", d.Code);
        Assert.Equal("no role of coding-agent@staging grants volume-backups:delete", d.Message);
    }

    [Fact]
    public void Demo_CodingAgentWritesVolume_IsPreapproved()
    {
        var d = Ask("coding-agent@staging", "staging", "volumes", "read write", ttl: TimeSpan.FromHours(2));
        Assert.Equal(DecisionKind.Allow, d.Kind);
        Assert.Equal(TimeSpan.FromMinutes(15), d.Ttl);
        Assert.Equal(["no-bulk"], d.Restrictions);
    }

    [Fact]
    public void Demo_SupportBotReadsCustomer_IsAllowedWithTarget()
    {
        Assert.Equal("policy.allow", Ask("support-bot@production", "production", "crm", "read", "customers/12345").Code);
        Assert.Equal("policy.target_required", Ask("support-bot@production", "production", "crm", "read").Code);
        Assert.Equal("policy.target_not_allowed", Ask("support-bot@production", "production", "crm", "read", "orders/1").Code);
        Assert.Equal("policy.action_not_granted", Ask("support-bot@production", "production", "crm", "write", "customers/1").Code);
    }

    [Fact]
    public void Demo_SupportBotStaging_WriteNeedsApprovalAndDeleteIsRestricted()
    {
        Assert.Equal("policy.approval_required", Ask("support-bot@staging", "staging", "crm", "write", "customers/1").Code);
        Assert.Equal("policy.restricted", Ask("support-bot@staging", "staging", "crm", "delete", "customers/1").Code);
    }

    [Fact]
    public void Demo_BackupRunner_CannotDeleteVolumes()
    {
        Assert.Equal("policy.allow", Ask("backup-runner@production", "production", "volume-backups", "write").Code);
        Assert.Equal("policy.elevation_required", Ask("backup-runner@production", "production", "volume-backups", "delete").Code);
        Assert.Equal("policy.action_not_granted", Ask("backup-runner@production", "production", "volumes", "delete").Code);
    }
}
