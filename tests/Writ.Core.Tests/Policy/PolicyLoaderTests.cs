using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>Validation: every problem is found, each with a stable code and the exact file, line and column.</summary>
public sealed class PolicyLoaderTests
{
    /// <summary>A small valid policy that the cases below break one line at a time.</summary>
    private const string Base = """
        environments:
          staging: {}
          production: {}
        resources:
          volumes:
            actions: [read, write, delete, admin]
            environments: [staging, production]
            backup: volume-backups
          volume-backups:
            actions: [read, write, delete]
            environments: [staging, production]
        roles:
          dev:
            permissions:
              volumes: [read, write, delete]
        agents:
          coding-agent@staging:
            kind: ai-agent
            owner: dana@example.com
            roles: [dev]
        """;

    private static PolicyDiagnostic Single(string yaml, string file = "policy.yaml")
    {
        var result = PolicyTestData.Load(yaml, file);
        Assert.True(result.Diagnostics.Count == 1, "expected one diagnostic, got:\n" + string.Join("\n", result.Diagnostics));
        Assert.False(result.IsValid);
        return result.Diagnostics[0];
    }

    private static void AssertAt(PolicyDiagnostic d, string code, int line, int column)
    {
        Assert.Equal(code, d.Code);
        Assert.Equal((line, column), (d.Line, d.Column));
    }

    [Fact]
    public void Load_BasePolicy_IsValid()
    {
        var model = PolicyTestData.LoadValid(Base);
        Assert.Equal(["staging", "production"], model.Environments.Keys);
        Assert.Equal("volume-backups", model.Resources["volumes"].Backup);
        Assert.Equal(["read", "write", "delete"], model.Roles["dev"].Permissions["volumes"]);
        var agent = model.Agents["coding-agent@staging"];
        Assert.Equal(("coding-agent", "staging", "ai-agent", "dana@example.com"), (agent.Name, agent.Environment, agent.Kind, agent.Owner));
        Assert.Equal(["dev"], agent.Roles);
    }

    [Fact]
    public void Load_EmptyText_IsAValidEmptyPolicy()
    {
        var result = PolicyTestData.Load("");
        Assert.True(result.IsValid);
        Assert.Empty(result.Policy!.Agents);
    }

    [Fact]
    public void Load_EmptySections_AreValid()
    {
        Assert.True(PolicyTestData.Load("environments:\nresources:\nroles:\nagents:\n").IsValid);
    }

    [Fact]
    public void Load_DocumentThatIsAList_IsInvalidType()
    {
        AssertAt(Single("- a\n- b\n"), "policy.invalid_type", 1, 1);
    }

    // ---------------------------------------------------------------- syntax and shape

    [Theory]
    [InlineData("roles:\n  a: [read\n", 3, 1)]
    [InlineData("a: b: c\n", 1, 5)]
    [InlineData("x: *nope\n", 1, 4)]
    public void Load_YamlSyntaxError_ReportsMarkAndNoPolicy(string yaml, int line, int column)
    {
        var result = PolicyTestData.Load(yaml);
        Assert.Null(result.Policy);
        AssertAt(Assert.Single(result.Diagnostics), "policy.yaml_syntax", line, column);
    }

    [Fact]
    public void Load_UnclosedFlowMapping_IsASyntaxErrorNotACrash()
    {
        var result = PolicyTestData.Load("roles:\n  a: {x: 1\n  b: 2");
        Assert.Equal("policy.yaml_syntax", Assert.Single(result.Diagnostics).Code);
    }

    [Fact]
    public void Load_SyntaxErrorInOneFile_ReportsOnlySyntaxErrors()
    {
        var result = PolicyLoader.Load([new PolicySource("a.yaml", "agents:\n  x@y: {kind: nope}\n"), new PolicySource("b.yaml", "roles: [\n")]);
        Assert.Null(result.Policy);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(("policy.yaml_syntax", "b.yaml"), (d.Code, d.File));
    }

    [Fact]
    public void Load_DeepNesting_IsRefused()
    {
        var yaml = "x: " + new string('[', 200) + new string(']', 200);
        Assert.Equal("policy.yaml_syntax", Assert.Single(PolicyTestData.Load(yaml).Diagnostics).Code);
    }

    [Fact]
    public void Load_UnknownTopLevelKey_SuggestsTheRightOne()
    {
        var d = Single("enviroments:\n  staging: {}\n");
        AssertAt(d, "policy.unknown_key", 1, 1);
        Assert.Contains("did you mean 'environments'?", d.Message);
    }

    [Fact]
    public void Load_TypoInRoleKey_IsUnknownKeyAtTheKey()
    {
        var d = Single(Base.Replace("    permissions:\n      volumes: [read, write, delete]", "    permissions:\n      volumes: [read, write, delete]\n    premissions: {}"));
        AssertAt(d, "policy.unknown_key", 16, 5);
        Assert.Contains("'permissions'", d.Message);
    }

    [Fact]
    public void Load_ResourcesAsList_IsInvalidType()
    {
        AssertAt(Single("resources: [a, b]\n"), "policy.invalid_type", 1, 12);
    }

    [Fact]
    public void Load_ActionsAsScalar_IsInvalidType()
    {
        AssertAt(Single(Base.Replace("actions: [read, write, delete]", "actions: read")), "policy.invalid_type", 10, 14);
    }

    [Fact]
    public void Load_DuplicateKeyInRole_ReportsBothPositions()
    {
        var d = Single(Base.Replace("  dev:\n", "  dev:\n    description: a\n    description: b\n"));
        AssertAt(d, "policy.duplicate_key", 15, 5);
        Assert.Contains("policy.yaml:14:5", d.Message);
    }

    [Fact]
    public void Load_DuplicateResourceInPermissions_IsDuplicateKey()
    {
        var d = Single(Base.Replace("      volumes: [read, write, delete]", "      volumes: [read]\n      volumes: [write]"));
        AssertAt(d, "policy.duplicate_key", 16, 7);
    }

    [Fact]
    public void Load_DuplicateListEntry_IsReported()
    {
        AssertAt(Single(Base.Replace("roles: [dev]", "roles: [dev, dev]")), "policy.duplicate_entry", 20, 18);
    }

    [Fact]
    public void Load_DuplicateNameInOneFile_ReportsBothPositions()
    {
        var d = Single("environments:\n  staging: {}\n  staging: {}\n");
        AssertAt(d, "policy.duplicate_name", 3, 3);
        Assert.Contains("policy.yaml:2:3", d.Message);
    }

    [Fact]
    public void Load_DuplicateNameAcrossFiles_ReportsBothFiles()
    {
        var result = PolicyLoader.Load([new PolicySource("a.yaml", Base), new PolicySource("b.yaml", "roles:\n  dev:\n    permissions: {}\n")]);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(("policy.duplicate_name", "b.yaml", 2, 3), (d.Code, d.File, d.Line, d.Column));
        Assert.Contains("a.yaml:13:3", d.Message);
    }

    // ---------------------------------------------------------------- merging and forms

    [Fact]
    public void Load_MultipleFiles_MergeIntoOnePolicy()
    {
        var result = PolicyLoader.Load([
            new PolicySource("10-envs.yaml", "environments: [staging]\n"),
            new PolicySource("20-resources.yaml", "resources:\n  crm:\n    actions: [read]\n    environments: [staging]\n"),
            new PolicySource("30-roles.yaml", "roles:\n  r:\n    permissions: {crm: [read]}\n"),
            new PolicySource("40-agents.yaml", "agents:\n  bot@staging: {kind: service, owner: o@example.com, roles: [r]}\n"),
        ]);
        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        var policy = CompiledPolicy.Compile(result.Policy!, 1, "x");
        Assert.Equal("policy.allow", policy.Evaluate(new AccessRequest("bot@staging", "staging", "crm", ["read"], null, null)).Code);
    }

    [Fact]
    public void Load_MultipleDocumentsInOneFile_Merge()
    {
        var model = PolicyTestData.LoadValid("environments: [dev]\n---\nenvironments: [staging]\n");
        Assert.Equal(["dev", "staging"], model.Environments.Keys);
    }

    [Fact]
    public void Load_EnvironmentNullValueAndDescription_AreAccepted()
    {
        var model = PolicyTestData.LoadValid("environments:\n  dev:\n  staging: { description: pre-production }\n");
        Assert.Null(model.Environments["dev"].Description);
        Assert.Equal("pre-production", model.Environments["staging"].Description);
    }

    [Fact]
    public void Load_ResourceEnvironmentSettings_AreKeptRaw()
    {
        var model = PolicyTestData.LoadValid("""
            environments: [staging, production]
            resources:
              crm:
                actions: [read]
                environments:
                  staging: { upstream: "https://crm.staging", headers: [a, b], auth: { kind: bearer } }
                  production:
            """);
        var envs = model.Resources["crm"].Environments;
        Assert.Equal("https://crm.staging", envs["staging"].Settings["upstream"]);
        Assert.Equal(new List<object?> { "a", "b" }, envs["staging"].Settings["headers"]);
        Assert.Equal("bearer", ((Dictionary<string, object?>)envs["staging"].Settings["auth"]!)["kind"]);
        Assert.Empty(envs["production"].Settings);
    }

    [Fact]
    public void Load_AnchorsAndAliases_AreResolved()
    {
        var model = PolicyTestData.LoadValid("""
            environments: [staging]
            resources:
              a: { actions: &rw [read, write], environments: &envs [staging] }
              b: { actions: *rw, environments: *envs }
            """);
        Assert.Equal(["read", "write"], model.Resources["b"].Actions);
    }

    // ---------------------------------------------------------------- references

    [Fact]
    public void Load_UnknownRole_AtTheReference()
    {
        var d = Single(Base.Replace("roles: [dev]", "roles: [deev]"));
        AssertAt(d, "policy.unknown_role", 20, 13);
        Assert.Contains("did you mean dev?", d.Message);
    }

    [Fact]
    public void Load_UnknownResourceInRole_AtTheKey()
    {
        AssertAt(Single(Base.Replace("      volumes: [read, write, delete]", "      volume: [read]")), "policy.unknown_resource", 15, 7);
    }

    [Fact]
    public void Load_UnknownActionInRole_AtTheAction()
    {
        var d = Single(Base.Replace("      volumes: [read, write, delete]", "      volumes: [read, purge]"));
        AssertAt(d, "policy.unknown_action", 15, 23);
        Assert.Contains("volumes:purge", d.Message);
    }

    [Fact]
    public void Load_UnknownEnvironmentInResource_AtTheName()
    {
        AssertAt(Single(Base.Replace("environments: [staging, production]\n    backup", "environments: [staging, prod]\n    backup")), "policy.unknown_environment", 7, 29);
    }

    [Fact]
    public void Load_AgentInUndeclaredEnvironment_AtTheId()
    {
        var d = Single(Base.Replace("coding-agent@staging:", "coding-agent@qa:").Replace("roles: [dev]", "roles: []"));
        AssertAt(d, "policy.unknown_environment", 17, 3);
    }

    [Theory]
    [InlineData("coding-agent")]
    [InlineData("Coding-Agent@staging")]
    [InlineData("a@b@staging")]
    [InlineData("\"@staging\"")]
    public void Load_MalformedAgentId_IsInvalidAgentId(string id)
    {
        var d = Single(Base.Replace("coding-agent@staging:", id + ":").Replace("roles: [dev]", "roles: []"));
        AssertAt(d, "policy.invalid_agent_id", 17, 3);
    }

    [Fact]
    public void Load_InvalidResourceName_IsInvalidName()
    {
        AssertAt(Single("environments: [staging]\nresources:\n  Volumes: { actions: [read], environments: [staging] }\n"), "policy.invalid_name", 3, 3);
    }

    [Fact]
    public void Load_RoleGivesResourceMissingFromAgentsEnvironment_IsReportedAtTheRoleReference()
    {
        var yaml = Base.Replace("environments: [staging, production]\n    backup", "environments: [production]\n    backup");
        var d = Single(yaml);
        AssertAt(d, "policy.resource_not_in_environment", 20, 13);
        Assert.Contains("volumes", d.Message);
        Assert.Contains("staging", d.Message);
    }

    // ---------------------------------------------------------------- agents

    [Fact]
    public void Load_MissingOwner_AtTheAgent()
    {
        AssertAt(Single(Base.Replace("    owner: dana@example.com\n", "")), "policy.missing_owner", 17, 3);
    }

    [Fact]
    public void Load_BlankOwner_AtTheOwner()
    {
        AssertAt(Single(Base.Replace("owner: dana@example.com", "owner: \" \"")), "policy.missing_owner", 19, 12);
    }

    [Fact]
    public void Load_UnknownKind_AtTheKind()
    {
        AssertAt(Single(Base.Replace("kind: ai-agent", "kind: robot")), "policy.unknown_kind", 18, 11);
    }

    [Fact]
    public void Load_MissingKind_IsMissingField()
    {
        AssertAt(Single(Base.Replace("    kind: ai-agent\n", "")), "policy.missing_field", 17, 3);
    }

    // ---------------------------------------------------------------- roles

    [Theory]
    [InlineData("15m", 15 * 60)]
    [InlineData("90s", 90)]
    [InlineData("1h30m", 90 * 60)]
    [InlineData("8h", 8 * 3600)]
    public void Load_MaxTtl_Parses(string text, int seconds)
    {
        var model = PolicyTestData.LoadValid(Base.Replace("  dev:\n", $"  dev:\n    max_ttl: {text}\n"));
        Assert.Equal(TimeSpan.FromSeconds(seconds), model.Roles["dev"].MaxTtl);
    }

    [Theory]
    [InlineData("15")]
    [InlineData("15 m")]
    [InlineData("1d")]
    [InlineData("0s")]
    [InlineData("30m1h")]
    [InlineData("-5m")]
    public void Load_MalformedMaxTtl_IsInvalidTtl(string text)
    {
        AssertAt(Single(Base.Replace("  dev:\n", $"  dev:\n    max_ttl: \"{text}\"\n")), "policy.invalid_ttl", 14, 14);
    }

    [Theory]
    [InlineData("8h1s")]
    [InlineData("999999999h")] // more seconds than a TimeSpan holds: over the cap, not a crash
    [InlineData("999999999h999999999m999999999s")]
    public void Load_MaxTtlOverHardCap_IsTtlOverCap(string text)
    {
        AssertAt(Single(Base.Replace("  dev:\n", $"  dev:\n    max_ttl: {text}\n")), "policy.ttl_over_cap", 14, 14);
    }

    [Fact]
    public void Load_PreapprovedNotInPermissions_AtTheAction()
    {
        var d = Single(Base.Replace("      volumes: [read, write, delete]", "      volumes: [read, write]\n    preapproved:\n      volumes: [write, delete]"));
        AssertAt(d, "policy.preapproved_not_permitted", 17, 24);
    }

    [Fact]
    public void Load_UnknownRestriction_SuggestsTheRightOne()
    {
        var d = Single(Base.Replace("  dev:\n", "  dev:\n    restrictions: [no-delet]\n"));
        AssertAt(d, "policy.unknown_restriction", 14, 20);
        Assert.Contains("no-delete", d.Message);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"a b\"")]
    [InlineData("\"vol-***\"")]
    public void Load_InvalidTargetPattern_IsInvalidTarget(string pattern)
    {
        AssertAt(Single(Base.Replace("  dev:\n", $"  dev:\n    targets: [{pattern}]\n")), "policy.invalid_target", 14, 15);
    }

    [Fact]
    public void Load_RoleWithoutPermissions_IsMissingField()
    {
        AssertAt(Single(Base.Replace("    permissions:\n      volumes: [read, write, delete]\n", "    description: nothing\n")), "policy.missing_field", 14, 5);
    }

    // ---------------------------------------------------------------- resources

    [Fact]
    public void Load_BackupUnknown_AtTheBackup()
    {
        var d = Single(Base.Replace("backup: volume-backups", "backup: snapshots"));
        AssertAt(d, "policy.unknown_resource", 8, 13);
    }

    [Fact]
    public void Load_BackupIsItself_IsBackupSelf()
    {
        AssertAt(Single(Base.Replace("backup: volume-backups", "backup: volumes")), "policy.backup_self", 8, 13);
    }

    [Fact]
    public void Load_ResourceWithoutActionsOrEnvironments_ReportsBoth()
    {
        var result = PolicyTestData.Load("environments: [staging]\nresources:\n  crm: { description: x }\n");
        Assert.Equal(["policy.missing_field", "policy.missing_field"], result.Diagnostics.Select(d => d.Code));
    }

    [Fact]
    public void Load_ResourceWithEmptyActions_IsMissingField()
    {
        AssertAt(Single("environments: [staging]\nresources:\n  crm: { actions: [], environments: [staging] }\n"), "policy.missing_field", 3, 3);
    }

    [Fact]
    public void Load_ManyProblems_AreAllReported()
    {
        var yaml = Base
            .Replace("kind: ai-agent", "kind: robot")
            .Replace("roles: [dev]", "roles: [dev, ops]")
            .Replace("backup: volume-backups", "backup: volumes");
        var codes = PolicyTestData.Load(yaml).Diagnostics.Select(d => d.Code).Order().ToArray();
        Assert.Equal(["policy.backup_self", "policy.unknown_kind", "policy.unknown_role"], codes);
    }

    [Fact]
    public void Diagnostic_ToString_IsFileLineColumnCodeMessage()
    {
        Assert.Equal("a.yaml:3:5: policy.unknown_role: x", new PolicyDiagnostic("policy.unknown_role", "x", "a.yaml", 3, 5).ToString());
    }

    // ---------------------------------------------------------------- files

    [Fact]
    public void ReadPath_Directory_ReadsYamlFilesInOrdinalOrder()
    {
        var dir = Directory.CreateTempSubdirectory("writ-policy-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "b.yml"), "environments: [b]\n");
            File.WriteAllText(Path.Combine(dir.FullName, "a.yaml"), "environments: [a]\n");
            File.WriteAllText(Path.Combine(dir.FullName, "README.md"), "not policy");
            var sources = PolicyLoader.ReadPath(dir.FullName);
            Assert.Equal(["a.yaml", "b.yml"], sources.Select(s => Path.GetFileName(s.Path)));
            Assert.True(PolicyLoader.Load(sources).IsValid);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ReadPath_Missing_ThrowsFileNotFoundNamingThePath()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => PolicyLoader.ReadPath("/nonexistent/writ/policy.yaml"));
        Assert.Contains("/nonexistent/writ/policy.yaml", ex.Message);
    }

    [Fact]
    public void ReadPath_EmptyDirectory_Throws()
    {
        var dir = Directory.CreateTempSubdirectory("writ-policy-");
        try
        {
            Assert.Throws<FileNotFoundException>(() => PolicyLoader.ReadPath(dir.FullName));
        }
        finally
        {
            dir.Delete();
        }
    }

    [Fact]
    public void ComputeSha256_DependsOnContentAndFileNameNotDirectory()
    {
        var a = PolicyLoader.ComputeSha256([new PolicySource("/x/policy.yaml", Base)]);
        Assert.Equal(a, PolicyLoader.ComputeSha256([new PolicySource("/y/policy.yaml", Base)]));
        Assert.NotEqual(a, PolicyLoader.ComputeSha256([new PolicySource("/x/policy.yaml", Base + " ")]));
        Assert.Matches("^[0-9a-f]{64}$", a);
    }
}
