using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Writ.Client.Keys;
using Writ.Core.Common;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

/// <summary>
/// <see cref="DpopProofValidator.CheckAhead"/>: a proof sent ahead has its signature verified early, and nothing else.
/// It must still be refused at use for every other reason (RFC 9449 §4.3), and nothing unverified may be remembered.
/// </summary>
public sealed class DpopCheckAheadTests : IDisposable
{
    private const string Url = "https://writ.example/mcp/files";
    private const string Token = "the.access.token";
    private static readonly Uri Mcp = new(Url);
    private readonly TestClock _clock = TestClock.At2026();
    private readonly AgentKeyPair _agent = AgentKeyPair.Generate("support-bot@staging", "https://writ.example");
    private readonly DpopProofFactory _factory;
    private readonly DpopProofValidator _validator;

    public DpopCheckAheadTests()
    {
        _factory = new DpopProofFactory(_agent, _clock);
        _validator = Validator(new DpopOptions());
    }

    public void Dispose() => _agent.Dispose();

    private DpopProofValidator Validator(DpopOptions options) => new(new MemoryDpopReplayCache(_clock), _clock, options);

    private string Proof() => _factory.Create("POST", Mcp, Token);

    private Result<DpopProof> Use(string proof, string url = Url, string token = Token, string? jkt = null) =>
        _validator.Validate(proof, "POST", url, token, jkt ?? _agent.Thumbprint);

    private static void AssertFails(Result<DpopProof> result, string code)
    {
        Assert.False(result.IsSuccess, "expected " + code);
        Assert.Equal(code, result.Error!.Code);
    }

    [Fact]
    public void CheckedAhead_ThenUsed_IsAcceptedOnceAndForgotten()
    {
        var proof = Proof();

        Assert.True(_validator.CheckAhead(proof, _agent.Thumbprint));
        Assert.Equal(1, _validator.CheckedAheadCount);
        Assert.True(Use(proof).IsSuccess);

        Assert.Equal(0, _validator.CheckedAheadCount); // taken at use, not verified twice
        AssertFails(Use(proof), DpopErrors.Replayed);
    }

    [Fact]
    public void CheckedAhead_StillGetsEveryOtherCheckAtUse()
    {
        string Ahead()
        {
            var p = Proof();
            Assert.True(_validator.CheckAhead(p, _agent.Thumbprint));
            return p;
        }

        AssertFails(Use(Ahead(), url: "https://writ.example/mcp/crm"), DpopErrors.HtuMismatch);
        AssertFails(Use(Ahead(), token: "another.access.token"), DpopErrors.AthMismatch);
        AssertFails(Use(Ahead(), jkt: "another-key-thumbprint"), DpopErrors.KeyMismatch);
        AssertFails(_validator.Validate(Ahead(), "GET", Url, Token, _agent.Thumbprint), DpopErrors.HtmMismatch);
        var stale = Ahead();
        _clock.Advance(TimeSpan.FromSeconds(61));
        AssertFails(Use(stale), DpopErrors.Stale);
    }

    [Fact]
    public void CheckAhead_ForgedSignature_IsNotRememberedAndIsRefusedAtUse()
    {
        using var claimed = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var header = $"{{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{TestJws.PublicJwk(claimed)}}}";
        var payload = new JsonObject { ["jti"] = "j1", ["htm"] = "POST", ["htu"] = Url, ["iat"] = _clock.Now.ToUnixTimeSeconds() }.ToJsonString();
        var forged = TestJws.SignEs256(signer, header, payload);
        var thumbprint = Writ.Core.Crypto.JwkThumbprint.Compute(claimed);

        Assert.False(_validator.CheckAhead(forged, thumbprint));

        Assert.Equal(0, _validator.CheckedAheadCount);
        AssertFails(_validator.Validate(forged, "POST", Url, null, thumbprint), DpopErrors.BadSignature);
    }

    [Fact]
    public void CheckAhead_ThenPayloadEdited_TheEditedProofIsVerifiedAndRefused()
    {
        var proof = Proof();
        Assert.True(_validator.CheckAhead(proof, _agent.Thumbprint));
        var parts = proof.Split('.');
        var payload = JsonNode.Parse(TestJws.DecodePart(proof, 1))!;
        payload["htu"] = "https://writ.example/mcp/crm";
        var edited = parts[0] + "." + TestJws.B64(payload.ToJsonString()) + "." + parts[2];

        AssertFails(Use(edited, url: "https://writ.example/mcp/crm"), DpopErrors.BadSignature);
    }

    [Fact]
    public void CheckAhead_ByAnotherKeyThanTheTokens_IsIgnored()
    {
        using var other = AgentKeyPair.Generate("other-bot@staging");
        var theirs = new DpopProofFactory(other, _clock).Create("POST", Mcp, Token);

        Assert.False(_validator.CheckAhead(theirs, _agent.Thumbprint));
        Assert.Equal(0, _validator.CheckedAheadCount);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c,d.e.f")]
    public void CheckAhead_Garbage_IsIgnored(string? header)
    {
        Assert.False(_validator.CheckAhead(header, _agent.Thumbprint));
        Assert.Equal(0, _validator.CheckedAheadCount);
    }

    [Fact]
    public void CheckAhead_StaleOrFutureProof_IsIgnored()
    {
        var stale = Proof();
        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.False(_validator.CheckAhead(stale, _agent.Thumbprint));

        _clock.Advance(TimeSpan.FromSeconds(30));
        var future = Proof();
        _clock.Advance(TimeSpan.FromSeconds(-30));
        Assert.False(_validator.CheckAhead(future, _agent.Thumbprint));

        Assert.Equal(0, _validator.CheckedAheadCount);
    }

    [Fact]
    public void CheckAhead_WhenFull_RemembersNothingMore_AndThoseProofsAreVerifiedAtUse()
    {
        var validator = Validator(new DpopOptions { CheckedAheadCapacity = 2 });
        var proofs = Enumerable.Range(0, 3).Select(_ => Proof()).ToArray();

        Assert.True(validator.CheckAhead(proofs[0], _agent.Thumbprint));
        Assert.True(validator.CheckAhead(proofs[1], _agent.Thumbprint));
        Assert.False(validator.CheckAhead(proofs[2], _agent.Thumbprint));

        Assert.Equal(2, validator.CheckedAheadCount);
        Assert.All(proofs, p => Assert.True(validator.Validate(p, "POST", Url, Token, _agent.Thumbprint).IsSuccess));
        Assert.Equal(0, validator.CheckedAheadCount);
    }

    [Fact]
    public void CheckAhead_EntriesNeverUsed_AreSweptOnceStale()
    {
        var validator = Validator(new DpopOptions { CheckedAheadCapacity = 1 });
        Assert.True(validator.CheckAhead(Proof(), _agent.Thumbprint));
        _clock.Advance(TimeSpan.FromSeconds(62));

        Assert.True(validator.CheckAhead(Proof(), _agent.Thumbprint));
        Assert.Equal(1, validator.CheckedAheadCount);
    }

    [Fact]
    public void CheckAhead_TurnedOff_RemembersNothing()
    {
        var validator = Validator(new DpopOptions { CheckedAheadCapacity = 0 });
        var proof = Proof();

        Assert.False(validator.CheckAhead(proof, _agent.Thumbprint));
        Assert.True(validator.Validate(proof, "POST", Url, Token, _agent.Thumbprint).IsSuccess);
    }
}
