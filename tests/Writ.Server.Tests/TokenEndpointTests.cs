using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Writ.Client.Http;
using Writ.Client.Keys;

namespace Writ.Server.Tests;

/// <summary>The issuance pipeline through the real HTTP stack, and the attacks on it.</summary>
public sealed class TokenEndpointTests : IAsyncLifetime
{
    private WritFixture _writ = null!;

    public async Task InitializeAsync() => _writ = await WritFixture.StartAsync();

    public async Task DisposeAsync() => await _writ.DisposeAsync();

    [Fact]
    public async Task Token_ForGrantedRead_IsAnRfc9068JwtThatAStandardLibraryAccepts()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("answer ticket 42", "TCK-42", "alice@example.com");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, target: "customers/12345");

        var jwks = new JsonWebKeySet(await _writ.Http().GetStringAsync("/.well-known/jwks.json"));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(credential.AccessToken, new TokenValidationParameters
        {
            ValidIssuer = WritFixture.Issuer,
            ValidAudience = "crm",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = ["at+jwt"],
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal("support-bot@staging", jwt.Subject);
        Assert.Equal("crm:read", jwt.GetClaim("scope").Value);
        Assert.Equal("staging", jwt.GetClaim("env").Value);
        Assert.Equal(task.Id, jwt.GetClaim("task").Value);
        Assert.Equal("customers/12345", jwt.GetClaim("target").Value);
        Assert.Equal(agent.Key.Thumbprint, JsonDocument.Parse(jwt.GetClaim("cnf").Value).RootElement.GetProperty("jkt").GetString());
        Assert.Equal("alice@example.com", JsonDocument.Parse(jwt.GetClaim("act").Value).RootElement.GetProperty("sub").GetString());
        Assert.Equal(300, (int)(jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
    }

    [Fact]
    public async Task Token_TtlOverRoleMaximum_IsCappedNotDenied()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("long read");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1", TimeSpan.FromHours(2));
        var jwt = new JsonWebToken(credential.AccessToken);
        Assert.Equal(15 * 60, (int)(jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
    }

    [Fact]
    public async Task Token_StagingAgentAskingForProduction_IsDeniedWithEnvironmentMismatch()
    {
        var agent = await _writ.EnrollAsync("coding-agent@staging");
        var task = await agent.Client.StartTaskAsync("fix credential mismatch");
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:delete", task.Id, "vol-prod-1", environment: "production"));
        Assert.Equal("policy.environment_mismatch", e.Code);
        Assert.Equal("access_denied", e.OAuthError);
        Assert.Contains("coding-agent@staging", e.Message);
        Assert.Contains("production", e.Message);
    }

    [Fact]
    public async Task Token_DeleteWithoutElevation_AnswersElevationRequired()
    {
        var agent = await _writ.EnrollAsync("coding-agent@staging");
        var task = await agent.Client.StartTaskAsync("clean up");
        var unexplained = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("volumes:delete", task.Id, "vol-staging-1"));
        Assert.Equal("approval.justification_required", unexplained.Code);
        Assert.Equal("invalid_request", unexplained.OAuthError);

        var e = await Assert.ThrowsAsync<WritApiException>(() =>
            agent.Client.GetCredentialAsync("volumes:delete", task.Id, "vol-staging-1", justification: "the volume is orphaned after the migration"));
        Assert.Equal("policy.elevation_required", e.Code);
        Assert.Equal("elevation_required", e.OAuthError);
        Assert.StartsWith("apr_", e.ApprovalId);
        Assert.NotNull(e.Interval);
    }

    [Fact]
    public async Task Token_ActionNoRoleGrants_IsDeniedNamingAgentAndScope()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("crm:delete", task.Id, "customers/1"));
        Assert.Equal("policy.action_not_granted", e.Code);
        Assert.Contains("support-bot@staging", e.Message);
        Assert.Contains("crm:delete", e.Message);
    }

    [Fact]
    public async Task Token_CopiedToAnotherProcessWithoutTheKey_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");

        // The owner of the key can use it.
        Assert.Equal(HttpStatusCode.OK, (await CallWithTokenAsync(credential.AccessToken, agent.Key)).StatusCode);

        // A thief holding the token but another key cannot: its proof is not signed by cnf.jkt.
        using var thiefKey = AgentKeyPair.Generate();
        var stolen = await CallWithTokenAsync(credential.AccessToken, thiefKey);
        Assert.Equal(HttpStatusCode.Unauthorized, stolen.StatusCode);
        Assert.Contains("dpop.key_mismatch", await stolen.Content.ReadAsStringAsync());

        // Nor as a plain bearer token.
        var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/agent/credential");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.AccessToken);
        var asBearer = await _writ.Http().SendAsync(bearer);
        Assert.Equal(HttpStatusCode.Unauthorized, asBearer.StatusCode);
        Assert.Contains("auth.not_dpop", await asBearer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_WithTamperedScope_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var parts = credential.AccessToken.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("crm:read", "crm:delete");
        var forged = parts[0] + "." + Base64UrlEncoder.Encode(payload) + "." + parts[2];
        var response = await CallWithTokenAsync(forged, agent.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("token.bad_signature", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_WithAlgNone_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var parts = credential.AccessToken.Split('.');
        var none = Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""") + "." + parts[1] + ".";
        var response = await CallWithTokenAsync(none, agent.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task TokenRequest_WithReplayedDpopProof_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var uri = new Uri(WritFixture.Issuer + "/oauth/token");
        var proof = new DpopProofFactory(agent.Key).Create("POST", uri);
        var first = await _writ.Http().SendAsync(TokenRequest(proof, agent.Id, task.Id, "crm:read", "customers/1"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var replay = await _writ.Http().SendAsync(TokenRequest(proof, agent.Id, task.Id, "crm:read", "customers/1"));
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        var body = JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("invalid_dpop_proof", body.GetProperty("error").GetString());
        Assert.Equal("dpop.replayed", body.GetProperty("writ_code").GetString());
    }

    [Theory]
    [InlineData(99_999_999_999_999L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public async Task TokenRequest_ProofWithIatBeyondAnyDate_IsStaleNotA500(long iat)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        var jwk = $$"""{"crv":"P-256","kty":"EC","x":"{{Base64UrlEncoder.Encode(q.X)}}","y":"{{Base64UrlEncoder.Encode(q.Y)}}"}""";
        var input = Base64UrlEncoder.Encode($$"""{"typ":"dpop+jwt","alg":"ES256","jwk":{{jwk}}}""") + "." +
                    Base64UrlEncoder.Encode($$"""{"jti":"j1","htm":"POST","htu":"{{WritFixture.Issuer}}/oauth/token","iat":{{iat}}}""");
        var proof = input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));

        var response = await _writ.Http().SendAsync(TokenRequest(proof, "support-bot@staging", "task_x", "crm:read", null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("dpop.stale", await WritCodeAsync(response));
    }

    [Theory]
    [InlineData("htm")]
    [InlineData("htu")]
    [InlineData("jti")]
    [InlineData("bytes")]
    public async Task TokenRequest_ProofWithAClaimThatIsNotUnicode_IsInvalidNotA500(string where)
    {
        // Signed by a key of the sender's own, so it reaches the claims without any enrolment.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        var jwk = $$"""{"crv":"P-256","kty":"EC","x":"{{Base64UrlEncoder.Encode(q.X)}}","y":"{{Base64UrlEncoder.Encode(q.Y)}}"}""";
        var claims = new Dictionary<string, string> { ["jti"] = "j1", ["htm"] = "POST", ["htu"] = WritFixture.Issuer + "/oauth/token" };
        if (claims.ContainsKey(where)) claims[where] = @"\udc00";
        var text = "{" + string.Join(",", claims.Select(c => $"\"{c.Key}\":\"{c.Value}\"")) + $",\"iat\":{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        byte[] payload = where == "bytes" ? [.. Encoding.UTF8.GetBytes(text + ",\"x\":\""), 0xFF, .. "\"}"u8] : Encoding.UTF8.GetBytes(text + "}");
        var input = Base64UrlEncoder.Encode($$"""{"typ":"dpop+jwt","alg":"ES256","jwk":{{jwk}}}""") + "." + Base64UrlEncoder.Encode(payload);
        var proof = input + "." + Base64UrlEncoder.Encode(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256));

        var response = await _writ.Http().SendAsync(TokenRequest(proof, "support-bot@staging", "task_x", "crm:read", null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("dpop.invalid", await WritCodeAsync(response));
    }

    [Fact]
    public async Task TokenRequest_ProofForAnotherUrl_IsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var proof = new DpopProofFactory(agent.Key).Create("POST", new Uri("http://evil.example/oauth/token"));
        var response = await _writ.Http().SendAsync(TokenRequest(proof, agent.Id, task.Id, "crm:read", "customers/1"));
        Assert.Equal("dpop.htu_mismatch", await WritCodeAsync(response));
        var getProof = new DpopProofFactory(agent.Key).Create("GET", new Uri(WritFixture.Issuer + "/oauth/token"));
        Assert.Equal("dpop.htm_mismatch", await WritCodeAsync(await _writ.Http().SendAsync(TokenRequest(getProof, agent.Id, task.Id, "crm:read", "customers/1"))));
    }

    [Fact]
    public async Task TokenRequest_FromUnenrolledKey_IsInvalidClient()
    {
        using var stranger = AgentKeyPair.Generate();
        var proof = new DpopProofFactory(stranger).Create("POST", new Uri(WritFixture.Issuer + "/oauth/token"));
        var response = await _writ.Http().SendAsync(TokenRequest(proof, "support-bot@staging", "task_x", "crm:read", null));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("auth.unknown_key", await WritCodeAsync(response));
    }

    [Fact]
    public async Task TokenRequest_WithPrivateKeyJwt_IsAcceptedAndAssertionReplayIsRefused()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var uri = new Uri(WritFixture.Issuer + "/oauth/token");
        var assertion = ClientAssertionFactory.Create(agent.Key, agent.Id, uri.ToString());
        var ok = TokenRequest(new DpopProofFactory(agent.Key).Create("POST", uri), agent.Id, task.Id, "crm:read", "customers/1", assertion);
        Assert.Equal(HttpStatusCode.OK, (await _writ.Http().SendAsync(ok)).StatusCode);
        var replay = TokenRequest(new DpopProofFactory(agent.Key).Create("POST", uri), agent.Id, task.Id, "crm:read", "customers/1", assertion);
        var response = await _writ.Http().SendAsync(replay);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Token_OfSuspendedAgent_IsRefusedAndLiveCredentialsDie()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        await _writ.Admin().SuspendAgentAsync(agent.Id);

        Assert.Equal(HttpStatusCode.Unauthorized, (await CallWithTokenAsync(credential.AccessToken, agent.Key)).StatusCode);
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/2"));
        Assert.Equal("agent.not_active", e.Code);
    }

    [Fact]
    public async Task Token_AfterTaskCompleted_IsDead()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        await agent.Client.CompleteTaskAsync(task.Id);
        var response = await CallWithTokenAsync(credential.AccessToken, agent.Key);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("token.revoked", await response.Content.ReadAsStringAsync());
        var e = await Assert.ThrowsAsync<WritApiException>(() => agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/2"));
        Assert.Equal("task.not_open", e.Code);
    }

    [Fact]
    public async Task Token_RevokedByJti_IsDeadAndIntrospectsInactive()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var jti = new JsonWebToken(credential.AccessToken).Id;
        Assert.True(await IntrospectActiveAsync(credential.AccessToken));
        await _writ.Admin().RevokeCredentialAsync(jti);
        Assert.False(await IntrospectActiveAsync(credential.AccessToken));
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallWithTokenAsync(credential.AccessToken, agent.Key)).StatusCode);
    }

    [Fact]
    public async Task Token_ForAnotherAgentsTask_IsRefused()
    {
        var owner = await _writ.EnrollAsync("support-bot@staging");
        var other = await _writ.EnrollAsync("coding-agent@staging");
        var task = await owner.Client.StartTaskAsync("t");
        var e = await Assert.ThrowsAsync<WritApiException>(() => other.Client.GetCredentialAsync("volumes:read", task.Id));
        Assert.Equal("task.not_found", e.Code);
    }

    [Fact]
    public async Task Token_SignedBeforeKeyRotation_StillVerifies()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var before = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        var keys = await _writ.Admin().RotateSigningKeyAsync();
        Assert.Equal(2, keys.Count);
        Assert.Equal(HttpStatusCode.OK, (await CallWithTokenAsync(before.AccessToken, agent.Key)).StatusCode);
        var after = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/2");
        Assert.NotEqual(new JsonWebToken(before.AccessToken).Kid, new JsonWebToken(after.AccessToken).Kid);
        Assert.Equal(HttpStatusCode.OK, (await CallWithTokenAsync(after.AccessToken, agent.Key)).StatusCode);
    }

    [Fact]
    public async Task AgentToken_OnAdminEndpoint_IsForbidden()
    {
        var agent = await _writ.EnrollAsync("support-bot@staging");
        var task = await agent.Client.StartTaskAsync("t");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, "customers/1");
        foreach (var (method, path) in new[] { ("GET", "/api/agents"), ("POST", "/api/policy"), ("GET", "/api/audit"), ("POST", "/api/agents/support-bot@staging/enrollment-codes"), ("POST", "/oauth/introspect") })
        {
            var request = new HttpRequestMessage(new HttpMethod(method), path);
            request.Headers.Authorization = new AuthenticationHeaderValue("DPoP", credential.AccessToken);
            request.Headers.Add("DPoP", new DpopProofFactory(agent.Key).Create(method, new Uri(WritFixture.Issuer + path), credential.AccessToken));
            var response = await _writ.Http().SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("auth.agent_forbidden", await CodeAsync(response));

            var asBearer = new HttpRequestMessage(new HttpMethod(method), path);
            asBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.AccessToken);
            Assert.Equal(HttpStatusCode.Forbidden, (await _writ.Http().SendAsync(asBearer)).StatusCode);
        }
    }

    [Fact]
    public async Task Enrollment_CodeReused_IsRefused()
    {
        var code = await _writ.Admin().CreateEnrollmentCodeAsync("support-bot@staging");
        using var first = AgentKeyPair.Generate();
        await WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), code.Code, first);
        using var second = AgentKeyPair.Generate();
        var e = await Assert.ThrowsAsync<WritApiException>(() => WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), code.Code, second));
        Assert.Equal("enroll.code_used", e.Code);
    }

    [Fact]
    public async Task Enrollment_WithUnknownCode_IsRefused()
    {
        using var key = AgentKeyPair.Generate();
        var e = await Assert.ThrowsAsync<WritApiException>(() => WritAgentClient.EnrollAsync(_writ.Http(), new Uri(WritFixture.Issuer + "/"), "wenr_not-a-real-code", key));
        Assert.Equal("enroll.invalid_code", e.Code);
    }

    [Theory]
    [InlineData("""{"kty":"\ud800","crv":"P-256","x":"a","y":"b"}""")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"\udc00","y":"b"}""")]
    public async Task Enrollment_WithJwkStringThatIsNotUnicode_IsInvalidKeyNotA500(string jwk)
    {
        var body = new JsonObject { ["code"] = "wenr_not-a-real-code", ["jwk"] = jwk };
        var response = await _writ.Http().PostAsync("/api/enroll", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("enroll.invalid_key", await CodeAsync(response));
    }

    private HttpRequestMessage TokenRequest(string proof, string clientId, string taskId, string scope, string? target, string? assertion = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["task_id"] = taskId, ["scope"] = scope };
        if (target is not null) form["target"] = target;
        if (assertion is not null)
        {
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
            form["client_assertion"] = assertion;
        }
        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("DPoP", proof);
        return request;
    }

    private async Task<HttpResponseMessage> CallWithTokenAsync(string token, AgentKeyPair key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/agent/credential");
        request.Headers.Authorization = new AuthenticationHeaderValue("DPoP", token);
        request.Headers.Add("DPoP", new DpopProofFactory(key).Create("GET", new Uri(WritFixture.Issuer + "/api/agent/credential"), token));
        return await _writ.Http().SendAsync(request);
    }

    private async Task<bool> IntrospectActiveAsync(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _writ.AdminToken);
        var response = await _writ.Http().SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("active").GetBoolean();
    }

    private static async Task<string?> WritCodeAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("writ_code").GetString();

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();
}
