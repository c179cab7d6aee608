using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>Invariant 6: policy validation refuses any identity that could delete both a resource and its backup.</summary>
public sealed class BackupSeparationTests
{
    private static string Policy(string roles, string agentRoles) => $"""
        environments: [staging]
        resources:
          volumes:
            actions: [read, write, delete, admin]
            environments: [staging]
            backup: volume-backups
          volume-backups:
            actions: [read, write, delete, admin]
            environments: [staging]
        roles:
        {roles}
        agents:
          coding-agent@staging:
            kind: ai-agent
            owner: dana@example.com
            roles: {agentRoles}
        """;

    [Fact]
    public void OneRole_DeletingVolumeAndBackup_IsRefusedAtTheAgentNamingBoth()
    {
        var result = PolicyTestData.Load(Policy("""
              ops:
                permissions:
                  volumes: [delete]
                  volume-backups: [delete]
            """, "[ops]"));
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(("policy.backup_conflict", 16, 3), (d.Code, d.Line, d.Column));
        Assert.Contains("coding-agent@staging", d.Message);
        Assert.Contains("volumes", d.Message);
        Assert.Contains("volume-backups", d.Message);
    }

    [Fact]
    public void TwoRoles_TogetherDeletingBoth_AreRefused()
    {
        var result = PolicyTestData.Load(Policy("""
              dev:
                permissions: { volumes: [read, delete] }
              backup:
                permissions: { volume-backups: [delete] }
            """, "[dev, backup]"));
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal("policy.backup_conflict", d.Code);
        Assert.Contains("role dev", d.Message);
        Assert.Contains("role backup", d.Message);
    }

    [Theory]
    [InlineData("admin", "delete")]
    [InlineData("delete", "admin")]
    [InlineData("admin", "admin")]
    public void AdminCountsAsDelete(string onVolume, string onBackup)
    {
        var result = PolicyTestData.Load(Policy($$"""
              ops:
                permissions: { volumes: [{{onVolume}}], volume-backups: [{{onBackup}}] }
            """, "[ops]"));
        Assert.Equal("policy.backup_conflict", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void PreapprovalDoesNotMatter_HoldingTheAuthorityIsEnough()
    {
        // Even elevation-gated delete on both counts: an approver tricked twice must not be enough.
        var result = PolicyTestData.Load(Policy("""
              ops:
                permissions: { volumes: [delete], volume-backups: [delete] }
                preapproved: { volumes: [delete] }
            """, "[ops]"));
        Assert.Equal("policy.backup_conflict", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void RoleWithNoDelete_IsIgnored()
    {
        PolicyTestData.LoadValid(Policy("""
              dev:
                permissions: { volumes: [delete] }
              backup-viewer:
                permissions: { volume-backups: [read, delete] }
                restrictions: [no-delete]
            """, "[dev, backup-viewer]"));
    }

    [Fact]
    public void WriteOnBackup_IsAllowedNextToDeleteOnPrimary()
    {
        PolicyTestData.LoadValid(Policy("""
              dev:
                permissions: { volumes: [read, write, delete], volume-backups: [read, write] }
            """, "[dev]"));
    }

    [Fact]
    public void SeparateIdentities_MayEachHoldOneSide()
    {
        var yaml = Policy("""
              dev:
                permissions: { volumes: [delete] }
              backup:
                permissions: { volume-backups: [delete] }
            """, "[dev]") + """

              backup-runner@staging:
                kind: service
                owner: ops@example.com
                roles: [backup]
            """;
        PolicyTestData.LoadValid(yaml);
    }

    [Fact]
    public void RoleNotGivenToAnyAgent_IsNotAConflict()
    {
        PolicyTestData.LoadValid(Policy("""
              dev:
                permissions: { volumes: [read] }
              unused:
                permissions: { volumes: [delete], volume-backups: [delete] }
            """, "[dev]"));
    }

    [Fact]
    public void DemoPolicy_HasNoIdentityThatCanDeleteBoth()
    {
        var result = PolicyLoader.Load(PolicyLoader.ReadPath(PolicyTestData.DemoPath));
        Assert.DoesNotContain(result.Diagnostics, d => d.Code == "policy.backup_conflict");
        Assert.True(result.IsValid);
    }
}
