using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Writ.Client.Keys;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

public sealed class ClientAssertionValidatorTests : IDisposable
{
    private const string Issuer = "https://writ.example";
    private const string TokenEndpoint = "https://writ.example/oauth/token";
    private const string ClientId = "support-bot@staging";
    private readonly TestClock _clock = TestClock.At2026();
    private readonly AgentKeyPair _agent = AgentKeyPair.Generate(ClientId);
    private readonly ECDsa _enrolled;
    private readonly ClientAssertionValidator _validator;

    public ClientAssertionValidatorTests()
    {
        _enrolled = EcJwk.ImportPublic(_agent.PublicJwk);
        _validator = new ClientAssertionValidator(new MemoryDpopReplayCache(_clock), _clock, Issuer);
    }

    public void Dispose()
    {
        _agent.Dispose();
        _enrolled.Dispose();
    }

    private ECDsa? Lookup(string clientId) => clientId == ClientId ? _enrolled : null;

    private string Create(string audience = TokenEndpoint) => ClientAssertionFactory.Create(_agent, ClientId, audience, _clock);

    private static void AssertFails(Result<ClientAssertion> result, string code)
    {
        Assert.False(result.IsSuccess, "expected " + code);
        Assert.Equal(code, result.Error!.Code);
    }

    [Fact]
    public void Assertion_FromClientFactory_IsAccepted()
    {
        var result = _validator.Validate(Create(), TokenEndpoint, Lookup);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(ClientId, result.Value.ClientId);
        Assert.Equal(_agent.Thumbprint, result.Value.KeyThumbprint);
        Assert.Equal(_clock.Now.AddSeconds(60), result.Value.ExpiresAt);
    }

    [Fact]
    public void Assertion_WithIssuerAsAudience_IsAccepted()
    {
        Assert.True(_validator.Validate(Create(Issuer), TokenEndpoint, Lookup).IsSuccess);
    }

    [Fact]
    public void Assertion_Replayed_IsRejected()
    {
        var assertion = Create();
        Assert.True(_validator.Validate(assertion, TokenEndpoint, Lookup).IsSuccess);
        AssertFails(_validator.Validate(assertion, TokenEndpoint, Lookup), ClientAssertionErrors.Replayed);
    }

    [Fact]
    public void Assertion_ForAnotherAudience_IsRejected()
    {
        AssertFails(_validator.Validate(Create("https://other.example/oauth/token"), TokenEndpoint, Lookup), ClientAssertionErrors.WrongAudience);
    }

    [Fact]
    public void Assertion_Expired_IsRejected()
    {
        var assertion = Create();
        _clock.Advance(TimeSpan.FromSeconds(60 + 30));
        AssertFails(_validator.Validate(assertion, TokenEndpoint, Lookup), ClientAssertionErrors.Expired);
    }

    [Fact]
    public void Assertion_SignedByAnotherKey_IsRejected()
    {
        using var other = AgentKeyPair.Generate(ClientId);
        var assertion = ClientAssertionFactory.Create(other, ClientId, TokenEndpoint, _clock);
        AssertFails(_validator.Validate(assertion, TokenEndpoint, Lookup), ClientAssertionErrors.BadSignature);
    }

    [Fact]
    public void Assertion_ForUnknownClient_IsRejected()
    {
        var assertion = ClientAssertionFactory.Create(_agent, "someone-else@production", TokenEndpoint, _clock);
        AssertFails(_validator.Validate(assertion, TokenEndpoint, Lookup), ClientAssertionErrors.UnknownClient);
    }

    private string Forge(Action<JsonObject> edit, string header = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}")
    {
        var payload = new JsonObject
        {
            ["iss"] = ClientId, ["sub"] = ClientId, ["aud"] = TokenEndpoint, ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = _clock.Now.ToUnixTimeSeconds(), ["exp"] = _clock.Now.AddSeconds(60).ToUnixTimeSeconds(),
        };
        edit(payload);
        return TestJws.SignEs256(_agent.Key, header, payload.ToJsonString());
    }

    [Fact]
    public void Assertion_WithIssDifferentFromSub_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(p => p["sub"] = "admin"), TokenEndpoint, Lookup), ClientAssertionErrors.Invalid);
    }

    [Fact]
    public void Assertion_WithoutExp_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(p => p.Remove("exp")), TokenEndpoint, Lookup), ClientAssertionErrors.Invalid);
    }

    [Fact]
    public void Assertion_LivingLongerThanFiveMinutes_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(p => p["exp"] = _clock.Now.AddHours(1).ToUnixTimeSeconds()), TokenEndpoint, Lookup), ClientAssertionErrors.Invalid);
    }

    [Fact]
    public void Assertion_WithoutJti_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(p => p.Remove("jti")), TokenEndpoint, Lookup), ClientAssertionErrors.Invalid);
    }

    [Fact]
    public void Assertion_WithAudienceArray_IsAccepted()
    {
        Assert.True(_validator.Validate(Forge(p => p["aud"] = new JsonArray("https://x.example", TokenEndpoint)), TokenEndpoint, Lookup).IsSuccess);
    }

    [Fact]
    public void Assertion_WithDpopTyp_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(_ => { }, "{\"alg\":\"ES256\",\"typ\":\"dpop+jwt\"}"), TokenEndpoint, Lookup), ClientAssertionErrors.Invalid);
    }

    [Fact]
    public void Assertion_WithAlgNone_IsRejected()
    {
        var parts = Create().Split('.');
        var forged = TestJws.B64("{\"alg\":\"none\"}") + "." + parts[1] + ".";
        AssertFails(_validator.Validate(forged, TokenEndpoint, Lookup), ClientAssertionErrors.UnsupportedAlg);
    }

    [Fact]
    public void Assertion_IssuedInTheFuture_IsRejected()
    {
        AssertFails(_validator.Validate(Forge(p => p["iat"] = _clock.Now.AddMinutes(3).ToUnixTimeSeconds()), TokenEndpoint, Lookup), ClientAssertionErrors.NotYetValid);
    }

    [Fact]
    public void Assertion_WithSeveralEnrolledKeys_AcceptsAnyAndReportsWhich()
    {
        using var old = AgentKeyPair.Generate(ClientId);
        using var oldPublic = EcJwk.ImportPublic(old.PublicJwk);
        var result = _validator.Validate(Create(), TokenEndpoint, (clientId, kid) => clientId == ClientId ? [oldPublic, _enrolled] : []);
        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(_agent.Thumbprint, result.Value.KeyThumbprint);
    }
}
