using Writ.Core.Storage;
using Writ.Server.GatewayApi;

namespace Writ.Server.Tests.Gateway;

/// <summary>The proofs standalone gateways report: used once across gateways, remembered as long as any gateway in step may take them.</summary>
public sealed class GatewayProofsTests
{
    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private const string Jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    [Fact]
    public void Proof_IsAcceptedOnce()
    {
        var proofs = new GatewayProofs(new Clock(T0));
        var p = new ProofUse(Jkt, "jti-1", T0);

        Assert.True(proofs.TryUse(p));
        Assert.False(proofs.TryUse(p));
        Assert.True(proofs.TryUse(p with { Jti = "jti-2" }));
    }

    [Fact]
    public void Proof_IsRemembered_WhileAGatewayWithASlowClockCouldStillTakeIt()
    {
        var clock = new Clock(T0);
        var proofs = new GatewayProofs(clock);
        var p = new ProofUse(Jkt, "jti-1", T0);
        Assert.True(proofs.TryUse(p));

        // A gateway 29 s behind the server still sees this proof as 60 s old or less at T0 + 89 s.
        clock.Now = T0 + TimeSpan.FromSeconds(89);
        Assert.False(proofs.TryUse(p));

        clock.Now = T0 + GatewayProofs.Lifetime + TimeSpan.FromSeconds(1);
        Assert.True(proofs.TryUse(p));
    }

    public static TheoryData<string, ProofUse> BadProofs => new()
    {
        { "jkt", new ProofUse("abc", "j", T0) },
        { "jkt", new ProofUse(new string('a', 42) + "!", "j", T0) },
        { "jti", new ProofUse(Jkt, "", T0) },
        { "jti", new ProofUse(Jkt, new string('j', 257), T0) },
        { "iat", new ProofUse(Jkt, "j", T0 - TimeSpan.FromSeconds(91)) },
        { "iat", new ProofUse(Jkt, "j", T0 + TimeSpan.FromSeconds(36)) },
    };

    [Theory]
    [MemberData(nameof(BadProofs))]
    public void Check_RefusesWhatNoGatewayInStepWouldHaveTaken(string field, ProofUse proof)
    {
        Assert.Contains(field, GatewayProofs.Check(proof, T0));
    }

    [Fact]
    public void Check_TakesAFreshProof()
    {
        Assert.Null(GatewayProofs.Check(new ProofUse(Jkt, "jti-1", T0 - TimeSpan.FromSeconds(80)), T0));
        Assert.Null(GatewayProofs.Check(new ProofUse(Jkt, "jti-1", T0 + TimeSpan.FromSeconds(30)), T0));
    }
}
