using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.GatewayHost;

namespace Writ.Server.GatewayApi;

/// <summary>
/// The DPoP proofs standalone gateways send with their allow decisions, each accepted once across all of them (a proof
/// used at one gateway process is refused at every other).
/// <para>
/// A cache of its own rather than the one behind the server's own endpoints: a proof made for a gateway's URL never
/// passes the server's <c>htu</c> check anyway, and a gateway that floods this cache (full, it refuses everything:
/// fail closed) stops gateway traffic only, not the server's token endpoint, <c>/gw/</c> or <c>/mcp/</c>.
/// </para>
/// </summary>
internal sealed class GatewayProofs(TimeProvider clock)
{
    private static readonly DpopOptions Dpop = new();

    /// <summary>
    /// How long a proof is remembered from its <c>iat</c>: as long as a gateway may still take it as fresh, with that
    /// gateway's clock up to <see cref="FeedFollower.MaxClockSkew"/> off the server's.
    /// </summary>
    public static readonly TimeSpan Lifetime = Dpop.MaxAge + FeedFollower.MaxClockSkew + TimeSpan.FromSeconds(1);

    private readonly MemoryDpopReplayCache _used = new(clock);

    /// <summary>What is wrong with a reported proof, or null: the shapes and times a gateway's own validator lets through, no more.</summary>
    public static string? Check(ProofUse p, DateTimeOffset now)
    {
        // An RFC 7638 SHA-256 thumbprint is 43 base64url characters.
        if (p.Jkt is not { Length: 43 } || !p.Jkt.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            return "a proof's jkt is an RFC 7638 SHA-256 thumbprint (43 base64url characters)";
        if (string.IsNullOrEmpty(p.Jti) || p.Jti.Length > Dpop.MaxJtiLength) return $"a proof's jti has 1 to {Dpop.MaxJtiLength} characters";
        if (p.IssuedAt < now - Dpop.MaxAge - FeedFollower.MaxClockSkew || p.IssuedAt > now + Dpop.MaxFutureSkew + FeedFollower.MaxClockSkew)
            return "a proof's iat is outside the window a gateway in step with this server accepts";
        return null;
    }

    /// <summary>True the first time a proof is reported; false if any gateway reported it before (a replay).</summary>
    public bool TryUse(ProofUse p) => _used.TryAdd("dpop:" + p.Jkt + ":" + p.Jti, p.IssuedAt + Lifetime);
}
