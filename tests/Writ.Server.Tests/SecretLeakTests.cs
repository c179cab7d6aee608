using Microsoft.Data.Sqlite;

namespace Writ.Server.Tests;

/// <summary>
/// Plants every secret a run handles (admin token, enrollment code, private keys, access tokens, DPoP
/// proofs) and greps the logs and the whole database for them: zero hits (invariant 4, STYLE "Secrets").
/// </summary>
public sealed class SecretLeakTests : IAsyncLifetime
{
    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Fact]
    public async Task Secrets_NeverAppearInLogsOrDatabase()
    {
        var secrets = new List<string> { _writ.AdminToken };
        var code = await _writ.Admin().CreateEnrollmentCodeAsync("support-bot@staging");
        secrets.Add(code.Code);
        using var key = Client.Keys.AgentKeyPair.Generate();
        await Client.Http.WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), code.Code, key);
        var agent = new Client.Http.WritAgentClient(_writ.Http(), new Uri(WritFixture.Issuer + "/"), "support-bot@staging", key);
        var task = await agent.StartTaskAsync("t");
        var credential = await agent.GetCredentialAsync("crm:read", task.Id, "customers/1");
        secrets.Add(credential.AccessToken);
        secrets.Add(credential.AccessToken.Split('.')[2]);
        // Reuse the code and replay a proof so refusals are logged/audited too.
        using var other = Client.Keys.AgentKeyPair.Generate();
        await Assert.ThrowsAnyAsync<Exception>(() => Client.Http.WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), code.Code, other));
        await _writ.Admin().RotateSigningKeyAsync();
        await _writ.Admin().VerifyAuditAsync();

        var logs = string.Join("\n", _writ.Logs.Lines);
        var database = await _writ.DumpDatabaseAsync();
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs);
            Assert.DoesNotContain(secret, database);
        }
        // The master key file's bytes appear nowhere either (the signing keys are sealed under it).
        var master = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(_writ.DataDirectory, "data", "master.key")));
        Assert.DoesNotContain(master, database);
        Assert.DoesNotContain("PRIVATE KEY", database);
    }
}
