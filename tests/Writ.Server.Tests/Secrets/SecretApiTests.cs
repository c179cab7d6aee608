using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Writ.Core.Secrets;
using Writ.Server.Secrets;

namespace Writ.Server.Tests.Secrets;

/// <summary>The secret admin API: write-only values, versions kept, every write audited by name and version only (invariant 4).</summary>
public sealed class SecretApiTests : IAsyncLifetime
{
    private const string Planted = "sk_live_PLANTED_upstream_secret_7f3a9c";

    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Fact]
    public async Task Put_NewSecret_AnswersMetadataWithoutValue()
    {
        var response = await SendAsync(HttpMethod.Put, "/api/secrets/crm-api-key", Json(new { value = Planted }));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Planted, body);
        Assert.DoesNotContain("value", body, StringComparison.OrdinalIgnoreCase);
        var info = await _writ.Admin().GetSecretAsync("crm-api-key");
        Assert.Equal(("crm-api-key", 1, (DateTimeOffset?)null), (info.Name, info.LatestVersion, info.RotatedAt));
        Assert.False(string.IsNullOrEmpty(Assert.Single(info.Versions).CreatedBy));
    }

    [Fact]
    public async Task Rotate_AddsVersionAndTheVaultOpensTheNewest()
    {
        var admin = _writ.Admin();
        await admin.PutSecretAsync("crm-api-key", "first-value");
        // Opened once before the rotation, as the gateway does on every call: the vault must not keep serving it.
        Assert.Equal("first-value", Encoding.UTF8.GetString((await _writ.Service<SecretVault>().OpenLatestAsync("crm-api-key", CancellationToken.None))!));

        var rotated = await admin.RotateSecretAsync("crm-api-key", "second-value");

        Assert.Equal(2, rotated.LatestVersion);
        Assert.Equal([1, 2], rotated.Versions.Select(v => v.Version));
        Assert.NotNull(rotated.RotatedAt);
        var latest = await _writ.Service<SecretVault>().OpenLatestAsync("crm-api-key", CancellationToken.None);
        Assert.Equal("second-value", Encoding.UTF8.GetString(latest!));
        Assert.Equal(["crm-api-key"], (await admin.ListSecretsAsync()).Select(s => s.Name));
    }

    [Fact]
    public async Task Put_Existing_IsConflict()
    {
        await _writ.Admin().PutSecretAsync("crm-api-key", "first-value");

        var response = await SendAsync(HttpMethod.Put, "/api/secrets/crm-api-key", Json(new { value = "other" }));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("secret.conflict", await CodeAsync(response));
        Assert.Equal(1, (await _writ.Admin().GetSecretAsync("crm-api-key")).LatestVersion);
    }

    [Fact]
    public async Task Rotate_Missing_IsNotFound()
    {
        var response = await SendAsync(HttpMethod.Post, "/api/secrets/ghost/rotate", Json(new { value = "x" }));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("secret.not_found", await CodeAsync(response));
        Assert.Equal("secret.not_found", await CodeAsync(await SendAsync(HttpMethod.Get, "/api/secrets/ghost", null)));
    }

    [Theory]
    [InlineData("/api/secrets/bad%20name", "{\"value\":\"x\"}", "secret.invalid_name", 400)]
    [InlineData("/api/secrets/-leading", "{\"value\":\"x\"}", "secret.invalid_name", 400)]
    [InlineData("/api/secrets/ok", "{\"value\":\"\"}", "secret.empty_value", 400)]
    [InlineData("/api/secrets/ok", "{\"value\":null}", "secret.empty_value", 400)]
    [InlineData("/api/secrets/ok", "{}", "secret.empty_value", 400)]
    [InlineData("/api/secrets/ok", "{\"value\":\"a\\u0000b\"}", "secret.invalid_value", 400)]
    [InlineData("/api/secrets/ok", "{\"value\":", "request.invalid_json", 400)]
    [InlineData("/api/secrets/ok", "[\"x\"]", "request.invalid_json", 400)]
    public async Task Put_BadInput_AnswersProblemAndStoresNothing(string path, string body, string code, int status)
    {
        var response = await SendAsync(HttpMethod.Put, path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, await CodeAsync(response));
        Assert.Empty(await _writ.Admin().ListSecretsAsync());
    }

    [Fact]
    public async Task Put_OversizeValue_Is413()
    {
        var response = await SendAsync(HttpMethod.Put, "/api/secrets/big", Json(new { value = new string('a', SecretRules.MaxValueBytes + 1) }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("secret.too_large", await CodeAsync(response));
    }

    [Fact]
    public async Task Put_WrongMediaType_Is415()
    {
        var response = await SendAsync(HttpMethod.Put, "/api/secrets/ok", new StringContent(Planted, Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("request.unsupported_media_type", await CodeAsync(response));
    }

    [Fact]
    public async Task Secrets_WithoutAdminToken_AreRefused()
    {
        using var http = _writ.Http();
        var list = await http.GetAsync("/api/secrets");
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        var put = await http.PutAsync("/api/secrets/crm-api-key", Json(new { value = Planted }));
        Assert.Equal(HttpStatusCode.Unauthorized, put.StatusCode);
        Assert.Empty(await _writ.Admin().ListSecretsAsync());
    }

    [Fact]
    public async Task Secrets_AreAuditedByNameAndVersionOnly()
    {
        var admin = _writ.Admin();
        await admin.PutSecretAsync("crm-api-key", Planted);
        await admin.RotateSecretAsync("crm-api-key", Planted + "-2");
        await SendAsync(HttpMethod.Put, "/api/secrets/crm-api-key", Json(new { value = Planted + "-3" }));

        var entries = await admin.SearchAuditAsync(limit: 500);
        var secretEntries = entries.Where(e => e.Action.StartsWith("secret.", StringComparison.Ordinal)).ToList();
        Assert.Equal(["secret.put", "secret.rotate", "secret.put"], secretEntries.Select(e => e.Action));
        Assert.All(secretEntries, e => Assert.Equal("crm-api-key", e.Target));
        Assert.Equal(["info", "info", "deny"], secretEntries.Select(e => e.Decision));
        Assert.Equal("secret.conflict", secretEntries[2].Reason);
        Assert.Equal("{\"version\":2}", secretEntries[1].Details);
    }

    [Fact]
    public async Task SecretValue_NeverAppearsInResponsesLogsAuditOrDatabase()
    {
        var admin = _writ.Admin();
        var seen = new StringBuilder();
        seen.Append(await (await SendAsync(HttpMethod.Put, "/api/secrets/crm-api-key", Json(new { value = Planted }))).Content.ReadAsStringAsync());
        seen.Append(await (await SendAsync(HttpMethod.Post, "/api/secrets/crm-api-key/rotate", Json(new { value = Planted + "v2" }))).Content.ReadAsStringAsync());
        seen.Append(await (await SendAsync(HttpMethod.Put, "/api/secrets/crm-api-key", Json(new { value = Planted }))).Content.ReadAsStringAsync());
        seen.Append(await (await SendAsync(HttpMethod.Put, "/api/secrets/bad%20name", Json(new { value = Planted }))).Content.ReadAsStringAsync());
        seen.Append(await (await SendAsync(HttpMethod.Get, "/api/secrets", null)).Content.ReadAsStringAsync());
        seen.Append(await (await SendAsync(HttpMethod.Get, "/api/secrets/crm-api-key", null)).Content.ReadAsStringAsync());
        await foreach (var line in admin.ExportAuditAsync()) seen.Append(line);
        seen.Append(string.Join('\n', _writ.Logs.Lines));
        seen.Append(await _writ.DumpDatabaseAsync());
        seen.Append(_writ.PrintedOutput);

        var text = seen.ToString();
        Assert.Contains("crm-api-key", text);
        Assert.DoesNotContain(Planted, text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(Planted)), text);
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content)
    {
        using var http = _writ.Http();
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _writ.AdminToken);
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.TryGetProperty("code", out var c) ? c.GetString() : null;
    }
}
