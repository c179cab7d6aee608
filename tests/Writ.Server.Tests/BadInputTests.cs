using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Writ.Client.Http;
using Writ.Client.Keys;

namespace Writ.Server.Tests;

/// <summary>Invariant 10: bad input gets a clear error with a stable code — never a 500, never a partial write.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Theory]
    [InlineData("{not json", "request.invalid_json")]
    [InlineData("[1,2,3]", "request.invalid_json")]
    [InlineData("null", "request.invalid_json")]
    [InlineData("{\"files\": []}", "policy.empty")]
    [InlineData("{\"files\": [{\"path\": \"a.yaml\"}]}", "policy.invalid_file")]
    public async Task ApplyPolicy_MalformedBody_AnswersProblemWithCode(string body, string code)
    {
        var response = await AdminPostAsync("/api/policy", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, await CodeAsync(response));
    }

    [Fact]
    public async Task ApplyPolicy_WrongMediaType_IsRefused()
    {
        var response = await AdminPostAsync("/api/policy", new StringContent("files: []", Encoding.UTF8, "text/yaml"));
        Assert.Equal("request.unsupported_media_type", await CodeAsync(response));
    }

    [Fact]
    public async Task ApplyPolicy_OversizeBody_IsRefused()
    {
        var big = "{\"files\":[{\"path\":\"a.yaml\",\"text\":\"" + new string('x', 5 * 1024 * 1024) + "\"}]}";
        var response = await AdminPostAsync("/api/policy", new StringContent(big, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, response.StatusCode.ToString());
        Assert.Equal("request.too_large", await CodeAsync(response));
    }

    [Fact]
    public async Task ApplyPolicy_InvalidYaml_IsRefusedWithPositionsAndNothingChanges()
    {
        var before = await _writ.Admin().GetPolicyHistoryAsync();
        var body = JsonSerializer.Serialize(new { files = new[] { new { path = "bad.yaml", text = "agents:\n  x@staging:\n    kind: robot\n    roles: [nope]\n" } } });
        var response = await AdminPostAsync("/api/policy", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("policy.invalid", problem.GetProperty("code").GetString());
        Assert.Contains("bad.yaml:", problem.GetProperty("detail").GetString());
        Assert.Equal(before.Count, (await _writ.Admin().GetPolicyHistoryAsync()).Count);
    }

    [Fact]
    public async Task ApplyPolicy_WithTheStoredFormsFileMarkerInAComment_WhereItWouldSplitTheFile_IsRefused()
    {
        // Valid as sent, but the stored form separates files with this line: read back, it would be two broken files.
        var before = await _writ.Admin().GetPolicyHistoryAsync();
        var text = WritFixture.Policy.Replace("roles:\n", "roles:\n# ---- writ-policy-file: elsewhere.yaml\n", StringComparison.Ordinal);
        Assert.NotEqual(WritFixture.Policy, text);

        var e = await Assert.ThrowsAsync<WritApiException>(() => _writ.Admin().ApplyPolicyAsync([new Writ.Client.Contracts.PolicyFile("policy.yaml", text)]));

        Assert.Equal(("policy.reserved_line", 422), (e.Code, e.Status));
        Assert.Equal(before.Count, (await _writ.Admin().GetPolicyHistoryAsync()).Count);
    }

    [Fact]
    public async Task ApplyPolicy_WithTheFileMarkerInsideALineOrAPath_AppliesAndReadsBackAsSent()
    {
        // Only a marker that starts a line separates stored files; one inside a line used to end in a 500.
        const string marker = "# ---- writ-policy-file: ";
        var text = WritFixture.Policy.Replace("roles:\n", $"roles:\n# see {marker}a.yaml{marker}b\n", StringComparison.Ordinal);
        var path = $"x{marker}y.yaml";

        await _writ.Admin().ApplyPolicyAsync([new Writ.Client.Contracts.PolicyFile(path, text)]);

        var stored = Writ.Server.PolicyApi.PolicyService.Split((await _writ.Admin().GetPolicyAsync()).Source);
        Assert.Equal((path, text.TrimEnd('\n')), (Assert.Single(stored).Path, stored[0].Text.TrimEnd('\n')));
    }

    [Fact]
    public async Task ApplyPolicy_WhatPolicyShowPrinted_AppliesAgain()
    {
        var shown = await _writ.Admin().GetPolicyAsync();
        var applied = await _writ.Admin().ApplyPolicyAsync([new Writ.Client.Contracts.PolicyFile("shown.yaml", shown.Source)]);
        Assert.Equal(shown.Version + 1, applied.Version);
    }

    [Theory]
    [InlineData("grant_type=client_credentials&scope=crm%3Aread&scope=crm%3Awrite", "request.repeated_parameter")]
    [InlineData("scope=crm%3Aread", "request.missing_grant_type")]
    [InlineData("grant_type=password&scope=crm%3Aread", "oauth.unsupported_grant_type")]
    [InlineData("grant_type=client_credentials&scope=crm%3Aread", "dpop.missing")]
    public async Task TokenEndpoint_MalformedForm_AnswersOAuthErrorWithCode(string form, string code)
    {
        var response = await _writ.Http().PostAsync("/oauth/token", new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(code, body.GetProperty("writ_code").GetString());
        Assert.True(body.TryGetProperty("error", out _));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task TokenEndpoint_JsonBody_IsRefused()
    {
        var response = await _writ.Http().PostAsync("/oauth/token", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("request.unsupported_media_type", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("crm", "scope.invalid")]
    [InlineData("crm:read volumes:read", "scope.multiple_resources")]
    [InlineData("nosuch:read", "policy.unknown_resource")]
    [InlineData("crm:launch", "policy.unknown_action")]
    public async Task TokenEndpoint_BadScope_IsRefusedWithCode(string scope, string code)
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var e = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => agent.Client.GetCredentialAsync(scope, task.Id, "customers/1"));
        Assert.Equal(code, e.Code);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("5x")]
    public async Task TokenEndpoint_MalformedTtl_IsRefused(string ttl)
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var uri = new Uri(WritFixture.Issuer + "/oauth/token");
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials", ["scope"] = "crm:read", ["task_id"] = task.Id, ["target"] = "customers/1", ["ttl"] = ttl,
            }),
        };
        request.Headers.Add("DPoP", new DpopProofFactory(agent.Key).Create("POST", uri));
        var response = await _writ.Http().SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("request.invalid_ttl", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TokenEndpoint_WithoutTask_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var e = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => agent.Client.GetCredentialAsync("crm:read", "task_does_not_exist", "customers/1"));
        Assert.Equal("task.not_found", e.Code);
    }

    [Fact]
    public async Task AdminEndpoints_UnknownAgent_Answer404WithCode()
    {
        var e = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => _writ.Admin().GetAgentAsync("ghost@staging"));
        Assert.Equal(404, e.Status);
        Assert.Equal("agent.not_found", e.Code);
        var code = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => _writ.Admin().CreateEnrollmentCodeAsync("ghost@staging"));
        Assert.Equal("agent.not_found", code.Code);
    }

    [Fact]
    public async Task AdminEndpoints_WithoutOrWithWrongToken_Answer401()
    {
        var none = await _writ.Http().GetAsync("/api/agents");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("auth.missing", await CodeAsync(none));
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/agents");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "writ_admin_guessed");
        var wrong = await _writ.Http().SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("auth.invalid_token", await CodeAsync(wrong));
    }

    [Fact]
    public async Task StartTask_BadBody_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var e = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => agent.Client.StartTaskAsync(""));
        Assert.Equal("task.invalid_purpose", e.Code);
        var ttl = await Assert.ThrowsAsync<Client.Http.WritApiException>(() => agent.Client.StartTaskAsync("x", ttl: TimeSpan.FromHours(9)));
        Assert.Equal("task.invalid_ttl", ttl.Code);
    }

    [Fact]
    public async Task UnknownEndpoint_AnswersProblem404()
    {
        var response = await _writ.Http().GetAsync("/no/such/thing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("request.not_found", await CodeAsync(response));
    }

    [Fact]
    public async Task AuditSearch_BadParameters_AreRefused()
    {
        var client = _writ.Http();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _writ.AdminToken);
        Assert.Equal("request.invalid_limit", await CodeAsync(await client.GetAsync("/api/audit?limit=0")));
        Assert.Equal("request.invalid_time", await CodeAsync(await client.GetAsync("/api/audit?since=yesterday-ish")));
        Assert.Equal("request.invalid_after", await CodeAsync(await client.GetAsync("/api/audit?after=x")));
    }

    private async Task<HttpResponseMessage> AdminPostAsync(string path, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _writ.AdminToken);
        return await _writ.Http().SendAsync(request);
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();
}
