using System.Net;
using Microsoft.Data.Sqlite;
using Writ.Client.Http;
using Writ.Client.Keys;

namespace Writ.Server.Tests;

/// <summary>Invariant 7: every decision is audited before the response leaves; the chain detects tampering; audit failure fails closed.</summary>
public sealed class AuditTrailTests : IAsyncLifetime
{
    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Fact]
    public async Task EveryDecision_IsAuditedWithActorKindTaskAndReason()
    {
        var agent = await _writ.EnrollAsync("coding-agent@staging");
        var task = await agent.Client.StartTaskAsync("fix staging", "OPS-7", "dana@example.com");
        await agent.Client.GetCredentialAsync("volumes:read", task.Id, "vol-1");
        await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:delete", task.Id, "vol-prod", environment: "production"));
        await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:delete", task.Id, "vol-1", justification: "orphaned volume, ticket OPS-7"));

        var entries = await _writ.Admin().SearchAuditAsync(actor: "coding-agent@staging", action: "token.issue");
        Assert.Equal(3, entries.Count);
        Assert.All(entries, e =>
        {
            Assert.Equal("ai-agent", e.ActorKind);
            Assert.Equal(task.Id, e.TaskId);
            Assert.Equal("dana@example.com", e.OnBehalfOf);
            Assert.NotNull(e.PolicyVersion);
        });
        Assert.Equal(["allow", "deny", "elevation_required"], entries.Select(e => e.Decision).ToArray());
        Assert.Equal("policy.environment_mismatch", entries[1].Reason);

        var admin = await _writ.Admin().SearchAuditAsync(action: "agent.enrollment_code");
        Assert.Equal("human", Assert.Single(admin).ActorKind);
    }

    [Fact]
    public async Task Verify_OnUntouchedLog_Passes()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var report = await _writ.Admin().VerifyAuditAsync();
        Assert.True(report.Ok, string.Join("; ", report.Problems.Select(p => p.Message)));
        Assert.True(report.Records >= 4);
    }

    [Fact]
    public async Task Verify_AfterOneRowIsEditedInTheDatabase_NamesTheRow()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var issued = (await _writ.Admin().SearchAuditAsync(action: "token.issue")).Single();

        await using (var db = new SqliteConnection($"Data Source={_writ.DatabasePath}"))
        {
            await db.OpenAsync();
            var update = db.CreateCommand();
            update.CommandText = "UPDATE audit_events SET decision = 'deny' WHERE seq = $seq";
            update.Parameters.AddWithValue("$seq", issued.Seq);
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        var report = await _writ.Admin().VerifyAuditAsync();
        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.Seq == issued.Seq && p.Kind == "edited");
    }

    [Fact]
    public async Task TokenRequest_WhenAuditCannotBeWritten_FailsClosedWithNoToken()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        await _writ.BlockAuditAsync();
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1"));
        Assert.Equal(503, e.Status);
        Assert.Equal("audit.unavailable", e.Code);
        Assert.DoesNotContain(await _writ.Admin().SearchAuditAsync(action: "token.issue"), entry => entry.Decision == "allow");
        Assert.Empty(await _writ.Admin().GetAgentAsync(agent.Id).ContinueWith(t => t.Result.ActiveCredentials));
    }

    [Fact]
    public async Task AdminChanges_WhenAuditCannotBeWritten_ChangeNothing()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        await _writ.BlockAuditAsync();

        var suspend = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().SuspendAgentAsync(agent.Id));
        Assert.Equal("audit.unavailable", suspend.Code);
        var code = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().CreateEnrollmentCodeAsync(agent.Id));
        Assert.Equal("audit.unavailable", code.Code);

        var detail = await _writ.Admin().GetAgentAsync(agent.Id);
        Assert.Equal("active", detail.Agent.Status);
        Assert.Single(detail.ActiveCredentials);
        await using var db = new SqliteConnection($"Data Source={_writ.DatabasePath}");
        await db.OpenAsync();
        var codes = db.CreateCommand();
        codes.CommandText = "SELECT COUNT(*) FROM enrollment_codes";
        Assert.Equal(1L, (long)(await codes.ExecuteScalarAsync())!); // only the one the fixture used to enroll
    }

    [Fact]
    public async Task SecretPutAndEnrollment_WhenAuditCannotBeWritten_WriteNothing()
    {
        var code = await _writ.Admin().CreateEnrollmentCodeAsync("support-bot@staging");
        await _writ.BlockAuditAsync();

        var put = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().PutSecretAsync("crm-api-key", "fake-upstream-value-for-tests"));
        Assert.Equal((503, "audit.unavailable"), (put.Status, put.Code));
        var key = AgentKeyPair.Generate();
        var enroll = await Assert.ThrowsAsync<WritApiException>(() => WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), code.Code, key));
        Assert.Equal((503, "audit.unavailable"), (enroll.Status, enroll.Code));

        await using var db = new SqliteConnection($"Data Source={_writ.DatabasePath}");
        await db.OpenAsync();
        var written = db.CreateCommand();
        written.CommandText =
            "SELECT (SELECT COUNT(*) FROM secret_versions), (SELECT COUNT(*) FROM agent_keys WHERE agent_id = 'support-bot@staging'), " +
            "(SELECT COUNT(*) FROM enrollment_codes WHERE used_at IS NULL)";
        await using var row = await written.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync());
        Assert.Equal((0L, 0L, 1L), (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2))); // the code is still unused
    }

    [Fact]
    public async Task PolicyApplyAndTaskStartAndComplete_WhenAuditCannotBeWritten_ChangeNothing_AndCanBeRetried()
    {
        // Each change commits with its record or not at all: a stored policy version is in force at the next start, and a
        // task completed without its record could never be recorded (completing it again is a conflict).
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("audit outage");
        var versions = (await _writ.Admin().GetPolicyHistoryAsync()).Count;
        var changed = WritFixture.Policy + "\n# applied during an audit outage\n";
        await _writ.BlockAuditAsync();

        var apply = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().ApplyPolicyAsync([new Writ.Client.Contracts.PolicyFile("policy.yaml", changed)]));
        var complete = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.CompleteTaskAsync(task.Id));
        var start = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.StartTaskAsync("opened during an audit outage"));

        Assert.All([apply, complete, start], e => Assert.Equal((503, "audit.unavailable"), (e.Status, e.Code)));
        Assert.Single(await _writ.Admin().ListTasksAsync(agent.Id, null)); // no task the log never saw open
        Assert.Equal(versions, (await _writ.Admin().GetPolicyHistoryAsync()).Count);
        Assert.Equal("open", (await _writ.Admin().ListTasksAsync(agent.Id, null)).Single(t => t.Id == task.Id).Status);

        await _writ.UnblockAuditAsync();
        await _writ.Admin().ApplyPolicyAsync([new Writ.Client.Contracts.PolicyFile("policy.yaml", changed)]);
        await agent.Client.CompleteTaskAsync(task.Id);
        var audit = await _writ.Admin().SearchAuditAsync(limit: 1000);
        Assert.Contains(audit, a => a.Action == "policy.apply" && a.PolicyVersion == versions + 1);
        Assert.Contains(audit, a => a.Action == "task.complete" && a.TaskId == task.Id);
    }

    [Fact]
    public async Task CredentialRevoke_WhenAuditCannotBeWritten_RevokesNothing_AndCanBeRetried()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("audit outage");
        await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/12345");
        var jti = (await _writ.Admin().GetAgentAsync(agent.Id)).ActiveCredentials.Single().Jti;
        await _writ.BlockAuditAsync();

        var revoke = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().RevokeCredentialAsync(jti));

        Assert.Equal((503, "audit.unavailable"), (revoke.Status, revoke.Code));
        Assert.Single((await _writ.Admin().GetAgentAsync(agent.Id)).ActiveCredentials);
        await _writ.UnblockAuditAsync();
        Assert.NotNull((await _writ.Admin().RevokeCredentialAsync(jti)).RevokedAt);
        Assert.Contains(await _writ.Admin().SearchAuditAsync(task: task.Id), a => a.Action == "credential.revoke" && a.Reason == "revoked");
    }

    [Fact]
    public async Task KeyRotationAndGatewayTokens_WhenAuditCannotBeWritten_ChangeNothing()
    {
        var keys = await _writ.Admin().ListSigningKeysAsync();
        await _writ.Admin().CreateGatewayTokenAsync("edge-1");
        await _writ.BlockAuditAsync();

        var rotate = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().RotateSigningKeyAsync());
        var revoke = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().RevokeGatewayTokensAsync("edge-1"));
        var mint = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().CreateGatewayTokenAsync("edge-2"));

        Assert.All([rotate, revoke, mint], e => Assert.Equal((503, "audit.unavailable"), (e.Status, e.Code)));
        Assert.Equal(keys.Select(k => (k.KeyId, k.RetiredAt)), (await _writ.Admin().ListSigningKeysAsync()).Select(k => (k.KeyId, k.RetiredAt)));
        await _writ.UnblockAuditAsync();
        Assert.Equal(1, (await _writ.Admin().RevokeGatewayTokensAsync("edge-1")).Revoked); // still there to revoke
        Assert.Single(await _writ.Admin().RotateSigningKeyAsync(), k => k.RetiredAt is null);
    }

    [Fact]
    public async Task AgentSideRefusals_AreAudited_WithoutTheCredential()
    {
        var http = _writ.Http();
        var tasks = await http.PostAsync("/api/agent/tasks", new StringContent("{\"purpose\":\"x\"}", System.Text.Encoding.UTF8, "application/json"));
        var check = await http.GetAsync("/api/agent/credential");
        var enroll = await http.PostAsync("/api/enroll", new StringContent("{\"code\":\"wenr_x\",\"jwk\":\"{}\"}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal((401, 401, 400), ((int)tasks.StatusCode, (int)check.StatusCode, (int)enroll.StatusCode));
        var refusals = (await _writ.Admin().SearchAuditAsync(limit: 1000)).Where(a => a.Decision == "deny").Select(a => (a.Action, a.Reason)).ToList();
        Assert.Contains(("agent.auth", (string?)"dpop.missing"), refusals);
        Assert.Contains(("credential.check", (string?)"auth.missing"), refusals);
        Assert.Contains(("agent.enroll", (string?)"enroll.invalid_key"), refusals);
    }

    [Fact]
    public async Task Export_WritesOneJsonLinePerRecordInChainOrder()
    {
        var lines = new List<string>();
        await foreach (var line in _writ.Admin().ExportAuditAsync()) lines.Add(line);
        Assert.NotEmpty(lines);
        var seqs = lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(seqs.OrderBy(s => s), seqs);
    }
}
