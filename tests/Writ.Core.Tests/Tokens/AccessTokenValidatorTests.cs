using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Writ.Core.Crypto;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

public sealed class AccessTokenValidatorTests : IDisposable
{
    private const string Issuer = "https://writ.example";
    private readonly TestClock _clock = TestClock.At2026();
    private readonly SigningKey _key = SigningKey.Generate();
    private readonly AccessTokenValidator _validator;

    public AccessTokenValidatorTests()
    {
        _validator = new AccessTokenValidator(kid => kid == _key.KeyId ? _key.PublicKey : null, _clock, Issuer, TimeSpan.FromSeconds(30));
    }

    public void Dispose() => _key.Dispose();

    private AccessTokenClaims Claims(TimeSpan? lifetime = null, string? onBehalfOf = "alice@example.com") => new(
        Issuer, "support-bot@staging", "crm", "crm:read crm:write", "staging", "task_123", "customers/12345",
        "jti_abc", _clock.Now, _clock.Now + (lifetime ?? TimeSpan.FromMinutes(5)),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "support-bot@staging", onBehalfOf, ["no-delete", "no-bulk"], 7);

    private string Issue() => AccessTokenIssuer.Issue(Claims(), _key);

    /// <summary>The payload of a fresh valid token, for attacks that edit one claim.</summary>
    private JsonObject Payload() => JsonNode.Parse(TestJws.DecodePart(Issue(), 1))!.AsObject();

    private string SignedWithOurKey(JsonObject payload, string? header = null)
    {
        using var priv = ECDsa.Create();
        priv.ImportPkcs8PrivateKey(_key.ExportPkcs8(), out _);
        return TestJws.SignEs256(priv, header ?? $"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\"}}", payload.ToJsonString());
    }

    private static void AssertFails(Writ.Core.Common.Result<AccessTokenClaims> result, string code)
    {
        Assert.False(result.IsSuccess, "expected " + code);
        Assert.Equal(code, result.Error!.Code);
    }

    [Fact]
    public void Issue_ThenValidate_RoundTripsEveryClaim()
    {
        var claims = Claims();
        var token = AccessTokenIssuer.Issue(claims, _key);

        var result = _validator.Validate(token, "crm");

        Assert.True(result.IsSuccess, result.Error?.ToString());
        var v = result.Value;
        Assert.Equal(claims with { Restrictions = v.Restrictions }, v);
        Assert.Equal(["no-delete", "no-bulk"], v.Restrictions);
        Assert.True(v.HasScope("crm:write"));
        Assert.False(v.HasScope("crm:delete"));
        var header = JsonNode.Parse(TestJws.DecodePart(token, 0))!;
        Assert.Equal("at+jwt", (string?)header["typ"]);
        Assert.Equal("ES256", (string?)header["alg"]);
        Assert.Equal(_key.KeyId, (string?)header["kid"]);
        var payload = JsonNode.Parse(TestJws.DecodePart(token, 1))!;
        Assert.Equal("alice@example.com", (string?)payload["act"]!["sub"]);
        Assert.Equal(claims.Jkt, (string?)payload["cnf"]!["jkt"]);
    }

    [Fact]
    public void Issue_WithoutActorOrTarget_OmitsThoseClaims()
    {
        var token = AccessTokenIssuer.Issue(Claims(onBehalfOf: null) with { Target = null, Restrictions = [] }, _key);
        var payload = JsonNode.Parse(TestJws.DecodePart(token, 1))!.AsObject();
        Assert.False(payload.ContainsKey("act"));
        Assert.False(payload.ContainsKey("target"));
        var result = _validator.Validate(token, null);
        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Null(result.Value.OnBehalfOf);
        Assert.Null(result.Value.Target);
        Assert.Empty(result.Value.Restrictions);
    }

    [Fact]
    public void Issue_TimesHaveSecondsPrecision()
    {
        _clock.Now = _clock.Now.AddMilliseconds(700);
        var result = _validator.Validate(Issue(), "crm");
        Assert.Equal(0, result.Value.IssuedAt.Millisecond);
        Assert.Equal(TimeSpan.FromMinutes(5), result.Value.ExpiresAt - result.Value.IssuedAt);
    }

    [Fact]
    public void Issue_FromManyThreads_EveryTokenVerifies()
    {
        var tokens = new string[2000];
        Parallel.For(0, tokens.Length, i => tokens[i] = AccessTokenIssuer.Issue(Claims() with { Jti = "jti_" + i }, _key));
        Parallel.For(0, tokens.Length, i =>
        {
            var result = _validator.Validate(tokens[i], "crm");
            Assert.True(result.IsSuccess, result.Error?.ToString());
            Assert.Equal("jti_" + i, result.Value.Jti);
        });
    }

    [Fact]
    public void Token_WithAlgNone_IsRejected()
    {
        var token = TestJws.Unsigned("{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"" + _key.KeyId + "\"}", Payload().ToJsonString());
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.UnsupportedAlg);
    }

    [Fact]
    public void Token_WithAlgNoneAndFakeSignature_IsRejected()
    {
        var token = TestJws.Unsigned("{\"alg\":\"none\",\"typ\":\"at+jwt\",\"kid\":\"" + _key.KeyId + "\"}", Payload().ToJsonString(), new string('A', 86));
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.UnsupportedAlg);
    }

    [Fact]
    public void Token_HS256SignedWithPublicKeyBytes_IsRejected()
    {
        // Key confusion (RFC 8725 §2.1): an attacker HMACs with the public key a careless verifier would use as the secret.
        foreach (var secret in new[] { Encoding.UTF8.GetBytes(_key.PublicJwk), _key.PublicKey.ExportSubjectPublicKeyInfo() })
        {
            var token = TestJws.SignHs256(secret, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"" + _key.KeyId + "\"}", Payload().ToJsonString());
            AssertFails(_validator.Validate(token, "crm"), TokenErrors.UnsupportedAlg);
        }
    }

    [Fact]
    public void Token_WithRS256Header_IsRejected()
    {
        using var rsa = RSA.Create(2048);
        var input = TestJws.B64("{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"" + _key.KeyId + "\"}") + "." + TestJws.B64(Payload().ToJsonString());
        var sig = rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AssertFails(_validator.Validate(input + "." + TestJws.Base64Url(sig), "crm"), TokenErrors.UnsupportedAlg);
    }

    [Fact]
    public void Token_WithAlgInOtherCase_IsRejected()
    {
        var token = SignedWithOurKey(Payload(), $"{{\"alg\":\"es256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\"}}");
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.UnsupportedAlg);
    }

    [Fact]
    public void Token_Expired_IsRejected()
    {
        var token = Issue();
        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30));
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Expired);
    }

    [Fact]
    public void Token_JustBeforeExpiryPlusSkew_IsAccepted()
    {
        var token = Issue();
        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.True(_validator.Validate(token, "crm").IsSuccess);
    }

    [Fact]
    public void Token_IssuedInTheFuture_IsRejected()
    {
        var token = AccessTokenIssuer.Issue(Claims() with { IssuedAt = _clock.Now.AddMinutes(2), ExpiresAt = _clock.Now.AddMinutes(7) }, _key);
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.NotYetValid);
    }

    [Fact]
    public void Token_WithNbfInTheFuture_IsRejected()
    {
        var payload = Payload();
        payload["nbf"] = _clock.Now.AddMinutes(2).ToUnixTimeSeconds();
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.NotYetValid);
    }

    [Fact]
    public void Token_ForAnotherAudience_IsRejected()
    {
        AssertFails(_validator.Validate(Issue(), "billing"), TokenErrors.WrongAudience);
    }

    [Fact]
    public void Token_WithAudienceArray_IsRejected()
    {
        var payload = Payload();
        payload["aud"] = new JsonArray("crm", "billing");
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithTamperedScope_IsRejected()
    {
        var parts = Issue().Split('.');
        var payload = JsonNode.Parse(TestJws.DecodePart(string.Join('.', parts), 1))!.AsObject();
        payload["scope"] = "crm:read crm:write crm:delete";
        var forged = parts[0] + "." + TestJws.B64(payload.ToJsonString()) + "." + parts[2];
        AssertFails(_validator.Validate(forged, "crm"), TokenErrors.BadSignature);
    }

    [Fact]
    public void Token_WithTamperedEnvironment_IsRejected()
    {
        var parts = Issue().Split('.');
        var payload = JsonNode.Parse(TestJws.DecodePart(string.Join('.', parts), 1))!.AsObject();
        payload["env"] = "production";
        AssertFails(_validator.Validate(parts[0] + "." + TestJws.B64(payload.ToJsonString()) + "." + parts[2], "crm"), TokenErrors.BadSignature);
    }

    [Fact]
    public void Token_WithUnknownKid_IsRejected()
    {
        using var other = SigningKey.Generate();
        AssertFails(_validator.Validate(AccessTokenIssuer.Issue(Claims(), other), "crm"), TokenErrors.UnknownKey);
    }

    [Fact]
    public void Token_WithoutKid_IsRejected()
    {
        AssertFails(_validator.Validate(SignedWithOurKey(Payload(), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}"), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_SignedByAnotherKeyUnderOurKid_IsRejected()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = TestJws.SignEs256(attacker, $"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\"}}", Payload().ToJsonString());
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.BadSignature);
    }

    [Fact]
    public void Token_WithEmbeddedJwkOfAttacker_IsRejected()
    {
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var header = $"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\",\"jwk\":{TestJws.PublicJwk(attacker)}}}";
        AssertFails(_validator.Validate(TestJws.SignEs256(attacker, header, Payload().ToJsonString()), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithDpopTyp_IsRejected()
    {
        AssertFails(_validator.Validate(SignedWithOurKey(Payload(), $"{{\"alg\":\"ES256\",\"typ\":\"dpop+jwt\",\"kid\":\"{_key.KeyId}\"}}"), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithoutTyp_IsRejected()
    {
        AssertFails(_validator.Validate(SignedWithOurKey(Payload(), $"{{\"alg\":\"ES256\",\"kid\":\"{_key.KeyId}\"}}"), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithApplicationAtJwtTyp_IsAccepted()
    {
        Assert.True(_validator.Validate(SignedWithOurKey(Payload(), $"{{\"alg\":\"ES256\",\"typ\":\"application/at+jwt\",\"kid\":\"{_key.KeyId}\"}}"), "crm").IsSuccess);
    }

    [Fact]
    public void Token_FromAnotherIssuer_IsRejected()
    {
        var payload = Payload();
        payload["iss"] = "https://evil.example";
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.WrongIssuer);
    }

    [Fact]
    public void Token_WithoutCnf_IsRejected()
    {
        var payload = Payload();
        payload.Remove("cnf");
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Theory]
    [InlineData("sub")]
    [InlineData("scope")]
    [InlineData("env")]
    [InlineData("task")]
    [InlineData("jti")]
    [InlineData("exp")]
    [InlineData("iat")]
    [InlineData("client_id")]
    [InlineData("policy_version")]
    public void Token_WithoutRequiredClaim_IsRejected(string claim)
    {
        var payload = Payload();
        payload.Remove(claim);
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithExpAsString_IsRejected()
    {
        var payload = Payload();
        payload["exp"] = "9999999999";
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithLifetimeOverTheEightHourCap_IsRejected()
    {
        var payload = Payload();
        payload["exp"] = _clock.Now.AddHours(9).ToUnixTimeSeconds();
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithDuplicateClaim_IsRejected()
    {
        // A second "scope" member: a parser keeping the last one would see delete rights the first one lacks.
        var json = Payload().ToJsonString();
        var duplicated = json[..^1] + ",\"scope\":\"crm:delete\"}";
        using var priv = ECDsa.Create();
        priv.ImportPkcs8PrivateKey(_key.ExportPkcs8(), out _);
        var token = TestJws.SignEs256(priv, $"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\"}}", duplicated);
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithDuplicateHeaderAlg_IsRejected()
    {
        var token = SignedWithOurKey(Payload(), $"{{\"alg\":\"none\",\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\"}}");
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithCritHeader_IsRejected()
    {
        var token = SignedWithOurKey(Payload(), $"{{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"{_key.KeyId}\",\"crit\":[\"exp\"]}}");
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Invalid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("..")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9..")]
    public void Token_Malformed_IsRejected(string token)
    {
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithPaddingOrWhitespaceInBase64_IsRejected()
    {
        var parts = Issue().Split('.');
        AssertFails(_validator.Validate(parts[0] + "=." + parts[1] + "." + parts[2], "crm"), TokenErrors.Invalid);
        AssertFails(_validator.Validate(parts[0] + "." + parts[1] + " ." + parts[2], "crm"), TokenErrors.Invalid);
        AssertFails(_validator.Validate(parts[0] + "." + parts[1] + "." + parts[2] + "==", "crm"), TokenErrors.Invalid);
        AssertFails(_validator.Validate(parts[0] + "." + parts[1] + "." + parts[2][..^1] + "+", "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_WithDerSignature_IsRejected()
    {
        var parts = Issue().Split('.');
        var raw = System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]);
        var der = ConvertToDer(raw);
        AssertFails(_validator.Validate(parts[0] + "." + parts[1] + "." + TestJws.Base64Url(der), "crm"), TokenErrors.Invalid);
    }

    private static byte[] ConvertToDer(byte[] p1363)
    {
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(Minimal(p1363.AsSpan(0, 32)));
            writer.WriteIntegerUnsigned(Minimal(p1363.AsSpan(32, 32)));
        }
        return writer.Encode();
    }

    /// <summary>DER integers carry no leading zero bytes; r or s starts with one in about 1 signature in 128.</summary>
    private static ReadOnlySpan<byte> Minimal(ReadOnlySpan<byte> unsigned)
    {
        var i = 0;
        while (i < unsigned.Length - 1 && unsigned[i] == 0) i++;
        return unsigned[i..];
    }

    [Fact]
    public void Token_TooLong_IsRejected()
    {
        var payload = Payload();
        payload["padding"] = new string('x', Jwt.MaxLength);
        AssertFails(_validator.Validate(SignedWithOurKey(payload), "crm"), TokenErrors.Invalid);
    }

    [Fact]
    public void Token_ErrorMessages_NeverContainTheToken()
    {
        var token = Issue();
        _clock.Advance(TimeSpan.FromHours(1));
        var result = _validator.Validate(token, "crm");
        Assert.DoesNotContain(token.Split('.')[2], result.Error!.Message);
        Assert.DoesNotContain(token.Split('.')[1], result.Error!.Message);
    }

    [Fact]
    public async Task Token_WeIssue_ValidatesWithMicrosoftJsonWebTokenHandler()
    {
        var token = Issue();
        var jwks = new JsonWebKeySet("{\"keys\":[" + _key.PublicJwk + "]}");
        var handler = new JsonWebTokenHandler();
        var result = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = "crm",
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidTypes = ["at+jwt"],
            ValidAlgorithms = ["ES256"],
            LifetimeValidator = (nbf, exp, _, _) => exp > _clock.Now.UtcDateTime,
        });

        Assert.True(result.IsValid, result.Exception?.ToString());
        Assert.Equal("support-bot@staging", result.Claims["sub"]);
        Assert.Equal("crm:read crm:write", result.Claims["scope"]);
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Equal(_key.KeyId, jwt.Kid);
    }

    [Fact]
    public void Token_SignedByMicrosoftLibraryWithOurKey_ValidatesWithOurValidator()
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(_key.ExportPkcs8(), out _);
        var credentials = new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = _key.KeyId }, SecurityAlgorithms.EcdsaSha256);
        var payload = Payload();
        var token = new JsonWebTokenHandler().CreateToken(payload.ToJsonString(), credentials,
            new Dictionary<string, object> { ["typ"] = "at+jwt" });

        var result = _validator.Validate(token, "crm");

        Assert.True(result.IsSuccess, result.Error?.ToString());
        Assert.Equal("task_123", result.Value.TaskId);
    }

    [Fact]
    public void SigningKey_Jwk_MatchesMicrosoftThumbprint()
    {
        var jwk = new Microsoft.IdentityModel.Tokens.JsonWebKey(_key.PublicJwk);
        Assert.Equal(TestJws.Base64Url(jwk.ComputeJwkThumbprint()), _key.Thumbprint);
        Assert.Equal("sig", jwk.Use);
        Assert.Equal("ES256", jwk.Alg);
        Assert.False(jwk.HasPrivateKey);
    }

    // The verified-token cache (a token's signature is checked once, then remembered by its SHA-256).

    [Fact]
    public void CachedToken_AfterItExpires_IsRejected()
    {
        var token = Issue();
        Assert.True(_validator.Validate(token, "crm").IsSuccess);
        _clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(31));
        AssertFails(_validator.Validate(token, "crm"), TokenErrors.Expired);
    }

    [Fact]
    public void CachedToken_PresentedToAnotherResource_IsRejected()
    {
        var token = Issue();
        Assert.True(_validator.Validate(token, "crm").IsSuccess);
        AssertFails(_validator.Validate(token, "billing"), TokenErrors.WrongAudience);
        Assert.True(_validator.Validate(token, null).IsSuccess);
    }

    [Fact]
    public void CachedToken_AfterItsSigningKeyIsRetired_IsRejected()
    {
        var retired = false;
        var validator = new AccessTokenValidator(kid => !retired && kid == _key.KeyId ? _key.PublicKey : null, _clock, Issuer, TimeSpan.FromSeconds(30));
        var token = Issue();
        Assert.True(validator.Validate(token, "crm").IsSuccess);
        retired = true;
        AssertFails(validator.Validate(token, "crm"), TokenErrors.UnknownKey);
    }

    [Fact]
    public void CachedToken_WithEditedPayloadAndSameSignature_IsRejected()
    {
        var token = Issue();
        Assert.True(_validator.Validate(token, "crm").IsSuccess);
        var parts = token.Split('.');
        var payload = Payload();
        payload["scope"] = "crm:read crm:write crm:delete";
        var forged = parts[0] + "." + TestJws.B64(payload.ToJsonString()) + "." + parts[2];
        AssertFails(_validator.Validate(forged, "crm"), TokenErrors.BadSignature);
    }

    [Fact]
    public void Cache_WhenFullOfDistinctTokens_StillVerifiesEveryNewOne()
    {
        var validator = new AccessTokenValidator(kid => kid == _key.KeyId ? _key.PublicKey : null, _clock, Issuer, TimeSpan.FromSeconds(30)) { CacheCapacity = 4 };
        for (var i = 0; i < 20; i++)
        {
            var result = validator.Validate(AccessTokenIssuer.Issue(Claims() with { Jti = "jti_" + i }, _key), "crm");
            Assert.True(result.IsSuccess, result.Error?.ToString());
            Assert.Equal("jti_" + i, result.Value.Jti);
        }
        var parts = Issue().Split('.');
        AssertFails(validator.Validate(parts[0] + "." + parts[1] + "." + TestJws.Base64Url(new byte[64]), "crm"), TokenErrors.BadSignature);
    }
}
