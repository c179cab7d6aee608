using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Writ.Client.Keys;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

public sealed class DpopProofValidatorTests : IDisposable
{
    private static readonly Uri TokenUri = new("https://writ.example/oauth/token");
    private readonly TestClock _clock = TestClock.At2026();
    private readonly AgentKeyPair _agent = AgentKeyPair.Generate("support-bot@staging", "https://writ.example");
    private readonly DpopProofFactory _factory;
    private readonly DpopProofValidator _validator;
    private readonly MemoryDpopReplayCache _cache;

    public DpopProofValidatorTests()
    {
        _factory = new DpopProofFactory(_agent, _clock);
        _cache = new MemoryDpopReplayCache(_clock);
        _validator = new DpopProofValidator(_cache, _clock, new DpopOptions());
    }

    public void Dispose() => _agent.Dispose();

    private static void AssertFails(Result<DpopProof> result, string code)
    {
        Assert.False(result.IsSuccess, "expected " + code);
        Assert.Equal(code, result.Error!.Code);
    }

    private long Now => _clock.Now.ToUnixTimeSeconds();

    private string Header(ECDsa key, string typ = "dpop+jwt", string alg = "ES256") =>
        $"{{\"typ\":\"{typ}\",\"alg\":\"{alg}\",\"jwk\":{TestJws.PublicJwk(key)}}}";

    private string Payload(string htm = "POST", string htu = "https://writ.example/oauth/token", string jti = "jti-1", long? iat = null, string? ath = null) =>
        new JsonObject { ["jti"] = jti, ["htm"] = htm, ["htu"] = htu, ["iat"] = iat ?? Now, ["ath"] = ath }.ToJsonString();

    [Fact]
    public void Proof_FromClientFactory_IsAccepted()
    {
        var result = _validator.Validate(_factory.Create("POST", TokenUri), "POST", "https://writ.example/oauth/token", null);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal(_agent.Thumbprint, result.Value.Jkt);
        Assert.Equal(_agent.PublicJwk, result.Value.PublicJwk);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Now), result.Value.IssuedAt);
    }

    [Fact]
    public void Proof_WithAccessToken_CarriesMatchingAth()
    {
        var proof = _factory.Create("GET", new Uri("https://gw.example/crm/customers/1?x=1"), "the.access.token");
        Assert.True(_validator.Validate(proof, "GET", "https://gw.example/crm/customers/1", "the.access.token").IsSuccess);
    }

    [Fact]
    public void Proof_Replayed_IsRejected()
    {
        var proof = _factory.Create("POST", TokenUri);
        Assert.True(_validator.Validate(proof, "POST", TokenUri.ToString(), null).IsSuccess);
        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.Replayed);
    }

    [Fact]
    public void Proof_ReplayedAfterCacheWindow_IsStaleNotAccepted()
    {
        var proof = _factory.Create("POST", TokenUri);
        Assert.True(_validator.Validate(proof, "POST", TokenUri.ToString(), null).IsSuccess);
        _clock.Advance(TimeSpan.FromMinutes(5));
        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.Stale);
    }

    [Fact]
    public void Proof_SameJtiFromTwoKeys_AreBothAccepted()
    {
        using var a = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var b = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(_validator.Validate(TestJws.SignEs256(a, Header(a), Payload(jti: "same")), "POST", TokenUri.ToString(), null).IsSuccess);
        Assert.True(_validator.Validate(TestJws.SignEs256(b, Header(b), Payload(jti: "same")), "POST", TokenUri.ToString(), null).IsSuccess);
    }

    [Fact]
    public void Proof_SignedByAnotherKeyThanItsJwk_IsRejected()
    {
        using var claimed = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = TestJws.SignEs256(signer, Header(claimed), Payload());
        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.BadSignature);
    }

    [Fact]
    public void Proof_WithPrivateKeyInJwk_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var header = $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{TestJws.PublicJwk(key, withPrivate: true)}}}";
        var result = _validator.Validate(TestJws.SignEs256(key, header, Payload()), "POST", TokenUri.ToString(), null);
        AssertFails(result, DpopErrors.Invalid);
        Assert.Contains("private", result.Error!.Message);
        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public void Proof_WithRsaJwk_IsRejected()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var header = $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{{\"kty\":\"RSA\",\"n\":\"{TestJws.Base64Url(p.Modulus)}\",\"e\":\"{TestJws.Base64Url(p.Exponent)}\"}}}}";
        AssertFails(_validator.Validate(TestJws.Unsigned(header, Payload(), new string('A', 86)), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithP384Jwk_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p = key.ExportParameters(false);
        var header = $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"{TestJws.Base64Url(p.Q.X)}\",\"y\":\"{TestJws.Base64Url(p.Q.Y)}\"}}}}";
        AssertFails(_validator.Validate(TestJws.Unsigned(header, Payload(), new string('A', 86)), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithPointNotOnCurve_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        p.Q.Y![31] ^= 1;
        var header = $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{TestJws.Base64Url(p.Q.X)}\",\"y\":\"{TestJws.Base64Url(p.Q.Y)}\"}}}}";
        var result = _validator.Validate(TestJws.SignEs256(key, header, Payload()), "POST", TokenUri.ToString(), null);
        Assert.False(result.IsSuccess);
        Assert.Contains(result.Error!.Code, new[] { DpopErrors.Invalid, DpopErrors.BadSignature });
    }

    [Fact]
    public void Proof_WithoutJwk_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}", Payload()), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithAlgNone_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.Unsigned(Header(key, alg: "none"), Payload()), "POST", TokenUri.ToString(), null), DpopErrors.UnsupportedAlg);
    }

    [Fact]
    public void Proof_WithHS256_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = TestJws.SignHs256(key.ExportSubjectPublicKeyInfo(), Header(key, alg: "HS256"), Payload());
        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.UnsupportedAlg);
    }

    [Fact]
    public void Proof_WithWrongTyp_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key, typ: "JWT"), Payload()), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithHtmMismatch_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("GET", TokenUri), "POST", TokenUri.ToString(), null), DpopErrors.HtmMismatch);
    }

    [Fact]
    public void Proof_WithLowercaseHtm_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("post", TokenUri), "POST", TokenUri.ToString(), null), DpopErrors.HtmMismatch);
    }

    [Fact]
    public void Proof_ForAnotherHost_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("POST", new Uri("https://evil.example/oauth/token")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_ForAnotherPath_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("POST", new Uri("https://writ.example/oauth/revoke")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_ForAnotherScheme_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("POST", new Uri("http://writ.example/oauth/token")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_ForAnotherPort_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("POST", new Uri("https://writ.example:8443/oauth/token")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_WithPathCaseChanged_IsRejected()
    {
        AssertFails(_validator.Validate(_factory.Create("POST", new Uri("https://writ.example/OAuth/token")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_QueryAndFragment_AreIgnored()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The proof's htu carries a query (a non-Writ client might send one); the request has another: both are ignored.
        var proof = TestJws.SignEs256(key, Header(key), Payload(htu: "https://writ.example/oauth/token?a=1#frag"));
        Assert.True(_validator.Validate(proof, "POST", "https://writ.example/oauth/token?b=2", null).IsSuccess);
    }

    [Fact]
    public void Proof_QueryDoesNotHideAPathChange()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = TestJws.SignEs256(key, Header(key), Payload(htu: "https://writ.example/oauth?/token"));
        AssertFails(_validator.Validate(proof, "POST", "https://writ.example/oauth/token", null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_HostCaseAndDefaultPort_AreNormalised()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = TestJws.SignEs256(key, Header(key), Payload(htu: "HTTPS://Writ.EXAMPLE:443/oauth/token"));
        Assert.True(_validator.Validate(proof, "POST", "https://writ.example/oauth/token", null).IsSuccess);
    }

    [Fact]
    public void Htu_ComparedAgainAndAgain_StillTellsUrisApart()
    {
        // The normal forms are remembered between calls: a URI seen before must still match only its own.
        var other = new Uri("https://writ.example/mcp/files");
        var longPath = new Uri("https://writ.example/mcp/" + new string('p', 600));
        for (var round = 0; round < 3; round++)
        {
            Assert.True(_validator.Validate(_factory.Create("POST", TokenUri), "POST", "HTTPS://writ.example:443/oauth/token", null).IsSuccess);
            Assert.True(_validator.Validate(_factory.Create("POST", other), "POST", other.ToString(), null).IsSuccess);
            Assert.True(_validator.Validate(_factory.Create("POST", longPath), "POST", longPath.ToString(), null).IsSuccess);
            AssertFails(_validator.Validate(_factory.Create("POST", TokenUri), "POST", other.ToString(), null), DpopErrors.HtuMismatch);
            AssertFails(_validator.Validate(_factory.Create("POST", other), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
            AssertFails(_validator.Validate(_factory.Create("POST", longPath), "POST", longPath + "x", null), DpopErrors.HtuMismatch);
        }
    }

    [Fact]
    public void Proof_WithRelativeOrNonHttpHtu_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), Payload(htu: "/oauth/token")), "POST", TokenUri.ToString(), null), DpopErrors.HtuMismatch);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), Payload(htu: "ftp://writ.example/oauth/token", jti: "2")), "POST", "ftp://writ.example/oauth/token", null), DpopErrors.HtuMismatch);
    }

    [Fact]
    public void Proof_WithStaleIat_IsRejected()
    {
        var proof = _factory.Create("POST", TokenUri);
        _clock.Advance(TimeSpan.FromSeconds(61));
        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.Stale);
    }

    [Theory]
    [InlineData(99_999_999_999_999L)]
    [InlineData(-99_999_999_999_999L)]
    [InlineData(long.MaxValue)]
    public void Proof_WithIatBeyondAnyDate_IsStaleNotACrash(long iat)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = TestJws.SignEs256(key, Header(key), Payload(iat: iat));

        AssertFails(_validator.Validate(proof, "POST", TokenUri.ToString(), null), DpopErrors.Stale);
    }

    [Fact]
    public void Proof_AtEdgeOfWindow_IsAccepted()
    {
        var proof = _factory.Create("POST", TokenUri);
        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.True(_validator.Validate(proof, "POST", TokenUri.ToString(), null).IsSuccess);
    }

    [Fact]
    public void Proof_FromTheFuture_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), Payload(iat: Now + 60)), "POST", TokenUri.ToString(), null), DpopErrors.Stale);
    }

    [Fact]
    public void Proof_FewSecondsInTheFuture_IsAccepted()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(_validator.Validate(TestJws.SignEs256(key, Header(key), Payload(iat: Now + 5)), "POST", TokenUri.ToString(), null).IsSuccess);
    }

    [Fact]
    public void Proof_WithAthMismatch_IsRejected()
    {
        var proof = _factory.Create("GET", TokenUri, "token-one");
        AssertFails(_validator.Validate(proof, "GET", TokenUri.ToString(), "token-two"), DpopErrors.AthMismatch);
    }

    [Fact]
    public void Proof_WithoutAthWhenTokenPresented_IsRejected()
    {
        var proof = _factory.Create("GET", TokenUri);
        AssertFails(_validator.Validate(proof, "GET", TokenUri.ToString(), "a-token"), DpopErrors.AthMismatch);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Proof_Missing_IsRejected(string? header)
    {
        AssertFails(_validator.Validate(header, "POST", TokenUri.ToString(), null), DpopErrors.Missing);
    }

    [Fact]
    public void Proof_TwoProofs_IsRejected()
    {
        var a = _factory.Create("POST", TokenUri);
        var b = _factory.Create("POST", TokenUri);
        AssertFails(_validator.Validate(a + "," + b, "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
        AssertFails(_validator.Validate(a + ", " + b, "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithoutJti_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var payload = new JsonObject { ["htm"] = "POST", ["htu"] = TokenUri.ToString(), ["iat"] = Now }.ToJsonString();
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), payload), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_WithOverlongJti_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), Payload(jti: new string('j', 257))), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_TooLong_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var payload = new JsonObject { ["jti"] = "x", ["htm"] = "POST", ["htu"] = TokenUri.ToString(), ["iat"] = Now, ["pad"] = new string('p', 5000) }.ToJsonString();
        AssertFails(_validator.Validate(TestJws.SignEs256(key, Header(key), payload), "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_InvalidProof_DoesNotConsumeItsJti()
    {
        // A proof that fails htm must not burn the jti: otherwise anyone who sees a proof could pre-empt it.
        var proof = _factory.Create("POST", TokenUri);
        AssertFails(_validator.Validate(proof, "GET", TokenUri.ToString(), null), DpopErrors.HtmMismatch);
        Assert.True(_validator.Validate(proof, "POST", TokenUri.ToString(), null).IsSuccess);
    }

    [Fact]
    public void Proof_AccessTokenPresentedAsProof_IsRejected()
    {
        using var key = SigningKey.Generate();
        var token = AccessTokenIssuer.Issue(new AccessTokenClaims("https://writ.example", "a@staging", "crm", "crm:read", "staging", "t", null, "j",
            _clock.Now, _clock.Now.AddMinutes(5), "jkt", "a@staging", null, [], 1), key);
        AssertFails(_validator.Validate(token, "POST", TokenUri.ToString(), null), DpopErrors.Invalid);
    }

    [Fact]
    public void Proof_Thumbprint_MatchesMicrosoftIdentityModel()
    {
        var result = _validator.Validate(_factory.Create("POST", TokenUri), "POST", TokenUri.ToString(), null);
        var jwk = new Microsoft.IdentityModel.Tokens.JsonWebKey(result.Value.PublicJwk);
        Assert.Equal(TestJws.Base64Url(jwk.ComputeJwkThumbprint()), result.Value.Jkt);
    }

    /// <summary>RFC 9449 §4.1 Figure 4 (example proof) with the jkt of §6.1 — a published vector for our thumbprint and verifier.</summary>
    [Fact]
    public void Proof_FromRfc9449Example_IsAcceptedWithItsPublishedThumbprint()
    {
        const string proof =
            "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19" +
            ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ" +
            ".2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
        var clock = new TestClock(DateTimeOffset.FromUnixTimeSeconds(1562262616));
        var validator = new DpopProofValidator(new MemoryDpopReplayCache(clock), clock, new DpopOptions());

        var result = validator.Validate(proof, "POST", "https://server.example.com/token", null);

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", result.Value.Jkt);
        Assert.Equal("-BwC3ESc6acc2lTc", result.Value.Jti);
    }
}

public sealed class DpopProofValidatorKeyCacheTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(10_000)]
    public void Proofs_FromManyKeysAndThreads_AreAllJudgedCorrectly(int cacheSize)
    {
        var clock = TestClock.At2026();
        var validator = new DpopProofValidator(new MemoryDpopReplayCache(clock), clock, new DpopOptions { KeyCacheSize = cacheSize });
        var keys = Enumerable.Range(0, 4).Select(i => AgentKeyPair.Generate("a" + i)).ToArray();
        try
        {
            var uri = new Uri("https://writ.example/oauth/token");
            Parallel.For(0, 400, i =>
            {
                var key = keys[i % keys.Length];
                var proof = new DpopProofFactory(key, clock).Create("POST", uri);
                var result = validator.Validate(proof, "POST", uri.ToString(), null);
                Assert.True(result.IsSuccess, result.Error?.ToString());
                Assert.Equal(key.Thumbprint, result.Value.Jkt);
                // Same jwk, signature from another key: the cached key must not make it pass.
                var other = keys[(i + 1) % keys.Length];
                var parts = proof.Split('.');
                var forged = parts[0] + "." + parts[1] + "." + new DpopProofFactory(other, clock).Create("POST", uri).Split('.')[2];
                Assert.False(validator.Validate(forged, "POST", uri.ToString(), null).IsSuccess);
            });
        }
        finally
        {
            foreach (var k in keys) k.Dispose();
        }
    }
}

public sealed class DpopTokenBindingTests
{
    [Fact]
    public void StolenToken_WithThiefsOwnProof_IsRejected()
    {
        var clock = TestClock.At2026();
        var cache = new RecordingReplayCache();
        var validator = new DpopProofValidator(cache, clock, new DpopOptions());
        using var agent = AgentKeyPair.Generate("bot@staging");
        using var thief = AgentKeyPair.Generate("bot@staging");
        using var signing = SigningKey.Generate();
        var token = AccessTokenIssuer.Issue(new AccessTokenClaims("https://writ.example", "bot@staging", "crm", "crm:read", "staging", "t", null, "j",
            clock.Now, clock.Now.AddMinutes(5), agent.Thumbprint, "bot@staging", null, [], 1), signing);
        var uri = new Uri("https://gw.example/crm/x");

        var stolen = validator.Validate(new DpopProofFactory(thief, clock).Create("GET", uri, token), "GET", uri.ToString(), token, agent.Thumbprint);
        var genuine = validator.Validate(new DpopProofFactory(agent, clock).Create("GET", uri, token), "GET", uri.ToString(), token, agent.Thumbprint);

        Assert.Equal(DpopErrors.KeyMismatch, stolen.Error?.Code);
        Assert.True(genuine.IsSuccess, genuine.Error?.ToString());
        Assert.Single(cache.Keys);
    }
}
