using System.Collections.Concurrent;
using System.Security.Cryptography;
using Writ.Core.Common;
using Writ.Core.Crypto;

namespace Writ.Core.Tokens;

/// <summary>A DPoP proof that passed every RFC 9449 §4.3 check. <see cref="Jkt"/> is the RFC 7638 thumbprint of its key.</summary>
/// <param name="PublicJwk">The proof's public key as canonical JSON <c>{"crv":"P-256","kty":"EC","x":…,"y":…}</c>.</param>
public sealed record DpopProof(string Jkt, string Jti, string PublicJwk, DateTimeOffset IssuedAt);

/// <summary>Limits for <see cref="DpopProofValidator"/>.</summary>
public sealed class DpopOptions
{
    /// <summary>
    /// How old a proof's <c>iat</c> may be (RFC 9449 §11.1 leaves the window to the server). 60 s
    /// covers a request that waited in a queue; the replay cache holds each jti this long.
    /// </summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How far in the future <c>iat</c> may be: tolerates an agent clock a few seconds fast.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest proof accepted, in characters (a P-256 proof is about 600).</summary>
    public int MaxProofLength { get; init; } = 4096;

    /// <summary>Longest <c>jti</c> accepted, so the replay cache stays bounded per entry.</summary>
    public int MaxJtiLength { get; init; } = 256;

    /// <summary>
    /// How many imported proof keys to keep. Importing (and validating) a public key costs several times a
    /// verification, and an agent signs every proof with the same key. 0 disables the cache.
    /// </summary>
    public int KeyCacheSize { get; init; } = 10_000;
}

/// <summary>
/// Checks a DPoP proof per RFC 9449 §4.3, in its order: exactly one proof (1), a well-formed JWT (2),
/// <c>typ</c> <c>dpop+jwt</c> (4), <c>alg</c> ES256 only (5), signature by the header <c>jwk</c> (6),
/// a public <c>jwk</c> without <c>d</c> (7), <c>htm</c> (8), <c>htu</c> (9), <c>ath</c> when a token is
/// presented (10, §7.1), <c>iat</c> within the window (11) and single use of <c>jti</c> (12, §11.1).
/// </summary>
/// <remarks>
/// Only ES256 is accepted: it is what every Writ client signs with, it keeps one verification path,
/// and it refuses weaker or confusable algorithms (none, HMAC). Server-provided nonces (§8, §9) are
/// not used; replay is bounded by the iat window and the jti cache instead.
/// </remarks>
public sealed class DpopProofValidator(IDpopReplayCache cache, TimeProvider clock, DpopOptions options)
{
    public const string ProofType = "dpop+jwt";

    /// <summary>Imported verify keys by their exact x and y; entries are never disposed (another thread may be verifying), the GC reclaims them.</summary>
    private readonly ConcurrentDictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);

    /// <summary>Normal forms of recently compared URIs (see <see cref="UriMatches"/>).</summary>
    private readonly ConcurrentDictionary<string, string> _normalised = new(StringComparer.Ordinal);
    private const int NormalisedCacheSize = 256, NormalisedCacheMaxLength = 512;

    /// <param name="proofHeaderValue">
    /// The raw <c>DPoP</c> request header. Pass all values joined (ASP.NET Core's <c>Headers["DPoP"].ToString()</c>):
    /// two headers arrive as <c>a,b</c> and are refused — a JWT never contains a comma.
    /// </param>
    /// <param name="httpMethod">The request method, compared case-sensitively with <c>htm</c>.</param>
    /// <param name="htu">The request URI as the server sees it (absolute); query and fragment are ignored.</param>
    /// <param name="accessToken">The access token presented with the proof, or null at the token endpoint.</param>
    public Result<DpopProof> Validate(string? proofHeaderValue, string httpMethod, string htu, string? accessToken) =>
        Validate(proofHeaderValue, httpMethod, htu, accessToken, expectedJkt: null);

    /// <summary>
    /// As above, and the proof's key must be <paramref name="expectedJkt"/> — the access token's <c>cnf.jkt</c>
    /// (RFC 9449 §7.1) or an enrolled agent key — else <c>dpop.key_mismatch</c>. Checked before the jti is
    /// recorded, so a thief's proofs never reach the replay cache.
    /// </summary>
    public Result<DpopProof> Validate(string? proofHeaderValue, string httpMethod, string htu, string? accessToken, string? expectedJkt)
    {
        if (string.IsNullOrWhiteSpace(proofHeaderValue)) return Fail(DpopErrors.Missing, "the request has no DPoP proof header");
        if (proofHeaderValue.Contains(',')) return Fail(DpopErrors.Invalid, "the request carries more than one DPoP proof");
        var proofText = proofHeaderValue.Trim();

        if (!Jwt.TryParse(proofText, "dpop", options.MaxProofLength, out var jwt, out var parseError)) return parseError;
        using (jwt)
        {
            if (!string.Equals(jwt.Type, ProofType, StringComparison.OrdinalIgnoreCase))
                return Fail(DpopErrors.Invalid, "the proof typ must be dpop+jwt");
            if (jwt.Jwk is not { } jwk) return Fail(DpopErrors.Invalid, "the proof has no jwk header");

            if (!TryGetKey(jwk, out var key)) return Fail(DpopErrors.Invalid, "the proof's jwk is not a point on P-256");
            using (options.KeyCacheSize > 0 ? null : key)
            {
                if (!jwt.VerifySignature(key)) return Fail(DpopErrors.BadSignature, "the proof is not signed by its jwk");
            }

            var p = jwt.Payload;
            var htm = JwtClaims.String(p, "htm"u8);
            var proofHtu = JwtClaims.String(p, "htu"u8);
            var jti = JwtClaims.String(p, "jti"u8);
            var iat = JwtClaims.NumericDate(p, "iat"u8);
            if (htm is null || proofHtu is null || jti is null || iat is null)
                return Fail(DpopErrors.Invalid, "the proof lacks one of jti, htm, htu, iat");
            if (jti.Length == 0 || jti.Length > options.MaxJtiLength) return Fail(DpopErrors.Invalid, "the proof jti is empty or too long");

            if (!string.Equals(htm, httpMethod, StringComparison.Ordinal)) return Fail(DpopErrors.HtmMismatch, "the proof is for another HTTP method");
            if (!UriMatches(proofHtu, htu)) return Fail(DpopErrors.HtuMismatch, "the proof is for another URI");

            if (accessToken is not null)
            {
                var ath = JwtClaims.String(p, "ath"u8);
                if (ath is null) return Fail(DpopErrors.AthMismatch, "the proof does not name the access token (no ath)");
                var expected = Jose.AccessTokenHash(accessToken);
                if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(ath), System.Text.Encoding.ASCII.GetBytes(expected)))
                    return Fail(DpopErrors.AthMismatch, "the proof was made for another access token");
            }

            // Whole seconds on both sides (iat has no fraction, so it is compared with a floored now), as numbers: an iat
            // beyond any date is refused here, where making a date of it would throw.
            var nowSeconds = JwtClaims.Now(clock);
            if (iat.Value < nowSeconds - (long)options.MaxAge.TotalSeconds) return Fail(DpopErrors.Stale, "the proof is too old (iat)");
            if (iat.Value > nowSeconds + (long)options.MaxFutureSkew.TotalSeconds) return Fail(DpopErrors.Stale, "the proof is issued in the future (iat)");
            var issuedAt = DateTimeOffset.FromUnixTimeSeconds(iat.Value);

            var jkt = jwk.Thumbprint;
            if (expectedJkt is not null && !string.Equals(jkt, expectedJkt, StringComparison.Ordinal))
                return Fail(DpopErrors.KeyMismatch, "the proof is signed by another key than the one the token is bound to");
            // Kept until the proof would be stale anyway; the key is per public key so two agents never collide.
            if (!cache.TryAdd("dpop:" + jkt + ":" + jti, issuedAt + options.MaxAge + TimeSpan.FromSeconds(1)))
                return Fail(DpopErrors.Replayed, "this proof was already used (jti)");

            return new DpopProof(jkt, jti, jwk.ToJson(), issuedAt);
        }
    }

    private bool TryGetKey(EcPublicJwk jwk, out ECDsa key)
    {
        var cacheKey = jwk.X + "." + jwk.Y;
        if (_keys.TryGetValue(cacheKey, out key!)) return true;
        try
        {
            // ImportParameters checks the point is on the curve (an invalid point is refused, not verified against).
            key = jwk.ToECDsa();
        }
        catch (CryptographicException)
        {
            key = null!;
            return false;
        }
        if (options.KeyCacheSize > 0)
        {
            // Bounded: when full, start over. Cheap, and a flood of fresh keys only costs the import it costs anyway.
            if (_keys.Count >= options.KeyCacheSize) _keys.Clear();
            key = _keys.GetOrAdd(cacheKey, key);
        }
        return true;
    }

    /// <summary>
    /// RFC 9449 §4.3 item 9 with RFC 3986 §6.2.2/§6.2.3 normalisation: scheme and host compared
    /// case-insensitively, default ports dropped, dot segments removed; path compared exactly; query
    /// and fragment ignored. Only absolute http(s) URIs match.
    /// Each side's normal form is remembered: the request's URL and a client's <c>htu</c> are the same text call after
    /// call, and parsing them is most of the comparison. Normalising depends on the text alone, so a remembered form
    /// gives the same answer; only URIs up to <see cref="NormalisedCacheMaxLength"/> characters are kept, at most
    /// <see cref="NormalisedCacheSize"/> of them.
    /// </summary>
    private bool UriMatches(string proofHtu, string requestUri) =>
        Normalised(proofHtu) is { } a && Normalised(requestUri) is { } b && string.Equals(a, b, StringComparison.Ordinal);

    private string? Normalised(string uri)
    {
        if (_normalised.TryGetValue(uri, out var known)) return known;
        if (!TryNormalise(uri, out var normalised)) return null;
        if (uri.Length <= NormalisedCacheMaxLength)
        {
            // Bounded as the key cache is: when full, start over.
            if (_normalised.Count >= NormalisedCacheSize) _normalised.Clear();
            _normalised.TryAdd(uri, normalised);
        }
        return normalised;
    }

    private static bool TryNormalise(string value, out string normalised)
    {
        normalised = "";
        if (value.Length > 4096 || !Uri.TryCreate(value, UriKind.Absolute, out var uri)) return false;
        if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) return false;
        if (uri.UserInfo.Length > 0) return false;
        normalised = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        return true;
    }

    private static Result<DpopProof> Fail(string code, string message) => Result<DpopProof>.Fail(code, message);
}
