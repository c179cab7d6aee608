using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Writ.Core.Common;
using Writ.Core.Crypto;

namespace Writ.Core.Tokens;

/// <summary>
/// Validates Writ access tokens per RFC 9068 §4 and RFC 8725: <c>typ</c> <c>at+jwt</c>, <c>alg</c>
/// ES256 only, a known <c>kid</c>, the signature, then <c>iss</c>, <c>exp</c>, <c>iat</c>/<c>nbf</c>
/// (with <paramref name="clockSkew"/>), <c>aud</c>, and the presence and types of every Writ claim,
/// including <c>cnf.jkt</c> (RFC 9449 §6.1). Revocation, environment and the DPoP proof are the
/// caller's checks: compare <see cref="AccessTokenClaims.Jkt"/> with the proof's
/// <see cref="DpopProof.Jkt"/> (RFC 9449 §7.1).
/// </summary>
/// <param name="publicKeyByKid">The verify key for a kid, or null when the kid is unknown or retired.</param>
public sealed class AccessTokenValidator(Func<string, ECDsa?> publicKeyByKid, TimeProvider clock, string issuer, TimeSpan clockSkew)
{
    /// <summary>Tokens claiming a longer life than this are refused whatever their signature: the 8 h hard cap of DESIGN invariant 1.</summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>
    /// How many verified tokens are remembered (by SHA-256 of the compact token) so that a token presented on every
    /// gateway call has its signature checked once, not each time (issue 4: "a token's signature need not be verified
    /// twice"). 0 turns the cache off. A hit still re-checks what can change: the signing key is still in the ring
    /// (retiring a key takes effect at once), the token has not expired, and the audience. Revocation, task and agent
    /// state are never cached here; they are the caller's checks.
    /// </summary>
    public int CacheCapacity { get; init; } = 10_000;

    private readonly ConcurrentDictionary<TokenHash, Verified> _verified = new();

    /// <summary>A token that passed every check of <see cref="ValidateUncached"/>, with what a cache hit must re-check.</summary>
    private sealed record Verified(AccessTokenClaims Claims, string KeyId, long ExpiresAt);

    /// <summary>SHA-256 of the compact token: the cache never holds the token itself (STYLE: store hashes, not tokens).</summary>
    private readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D);

    /// <param name="token">The compact JWT (without the <c>DPoP </c>/<c>Bearer </c> scheme).</param>
    /// <param name="expectedAudience">The resource the token is presented to; null skips the audience check (introspection).</param>
    public Result<AccessTokenClaims> Validate(string token, string? expectedAudience)
    {
        if (CacheCapacity <= 0 || token.Length > Jwt.MaxLength) return CheckAudience(ValidateUncached(token, out _), expectedAudience);

        var hash = Hash(token);
        if (_verified.TryGetValue(hash, out var hit))
        {
            if (publicKeyByKid(hit.KeyId) is null)
            {
                _verified.TryRemove(hash, out _);
                return Fail(TokenErrors.UnknownKey, "the token was signed by an unknown or retired key");
            }
            if (JwtClaims.Now(clock) >= hit.ExpiresAt + (long)clockSkew.TotalSeconds)
            {
                _verified.TryRemove(hash, out _);
                return Fail(TokenErrors.Expired, "the token has expired");
            }
            return CheckAudience(hit.Claims, expectedAudience);
        }

        var result = ValidateUncached(token, out var keyId);
        if (result.IsSuccess)
        {
            if (_verified.Count >= CacheCapacity) Trim();
            _verified[hash] = new Verified(result.Value, keyId!, result.Value.ExpiresAt.ToUnixTimeSeconds());
        }
        return CheckAudience(result, expectedAudience);
    }

    private static Result<AccessTokenClaims> CheckAudience(Result<AccessTokenClaims> result, string? expectedAudience) =>
        result.IsSuccess && expectedAudience is not null && !string.Equals(result.Value.Audience, expectedAudience, StringComparison.Ordinal)
            ? Fail(TokenErrors.WrongAudience, "the token is for another resource")
            : result;

    /// <summary>Drops expired entries; if the cache is still full (a flood of distinct valid tokens), starts over.</summary>
    private void Trim()
    {
        var now = JwtClaims.Now(clock) - (long)clockSkew.TotalSeconds;
        foreach (var (k, v) in _verified)
        {
            if (v.ExpiresAt <= now) _verified.TryRemove(k, out _);
        }
        if (_verified.Count >= CacheCapacity) _verified.Clear();
    }

    private static TokenHash Hash(string token)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(token.Length));
        try
        {
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(rented.AsSpan(0, Encoding.UTF8.GetBytes(token, rented)), digest);
            var words = MemoryMarshal.Cast<byte, ulong>(digest);
            return new TokenHash(words[0], words[1], words[2], words[3]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Every check but the audience, from scratch: parse, header, signature, claims.</summary>
    private Result<AccessTokenClaims> ValidateUncached(string token, out string? keyId)
    {
        keyId = null;
        if (!Jwt.TryParse(token, "token", Jwt.MaxLength, out var jwt, out var parseError)) return parseError;
        using (jwt)
        {
            // RFC 9068 §4: typ must be at+jwt (media type comparison is case-insensitive, RFC 7515 §4.1.9).
            var typ = jwt.Type;
            if (typ is null || !(typ.Equals("at+jwt", StringComparison.OrdinalIgnoreCase) || typ.Equals("application/at+jwt", StringComparison.OrdinalIgnoreCase)))
                return Fail(TokenErrors.Invalid, "the token is not a JWT access token (typ must be at+jwt)");
            if (jwt.Jwk is not null) return Fail(TokenErrors.Invalid, "an access token must not carry its own key (jwk header)");
            if (string.IsNullOrEmpty(jwt.KeyId)) return Fail(TokenErrors.Invalid, "the token header has no kid");
            var key = publicKeyByKid(jwt.KeyId);
            if (key is null) return Fail(TokenErrors.UnknownKey, "the token was signed by an unknown or retired key");
            if (!jwt.VerifySignature(key)) return Fail(TokenErrors.BadSignature, "the token signature is not valid");

            var p = jwt.Payload;
            var iss = JwtClaims.String(p, "iss"u8);
            if (iss is null) return Fail(TokenErrors.Invalid, "the token has no iss");
            if (!string.Equals(iss, issuer, StringComparison.Ordinal)) return Fail(TokenErrors.WrongIssuer, "the token was issued by another issuer");

            var exp = JwtClaims.NumericDate(p, "exp"u8);
            var iat = JwtClaims.NumericDate(p, "iat"u8);
            if (exp is null || iat is null) return Fail(TokenErrors.Invalid, "the token lacks exp or iat");
            var now = JwtClaims.Now(clock);
            var skew = (long)clockSkew.TotalSeconds;
            if (now >= exp.Value + skew) return Fail(TokenErrors.Expired, "the token has expired");
            if (iat.Value > now + skew) return Fail(TokenErrors.NotYetValid, "the token is issued in the future");
            if (JwtClaims.HasMember(p, "nbf"u8))
            {
                var nbf = JwtClaims.NumericDate(p, "nbf"u8);
                if (nbf is null) return Fail(TokenErrors.Invalid, "nbf is not a NumericDate");
                if (nbf.Value > now + skew) return Fail(TokenErrors.NotYetValid, "the token is not valid yet (nbf)");
            }
            if (exp.Value <= iat.Value || exp.Value - iat.Value > (long)MaxLifetime.TotalSeconds)
                return Fail(TokenErrors.Invalid, "the token lifetime is not positive or exceeds the hard cap");

            var aud = JwtClaims.String(p, "aud"u8);
            if (aud is null) return Fail(TokenErrors.Invalid, "the token has no aud (a single string)");

            var sub = JwtClaims.String(p, "sub"u8);
            var scope = JwtClaims.String(p, "scope"u8);
            var env = JwtClaims.String(p, "env"u8);
            var task = JwtClaims.String(p, "task"u8);
            var jti = JwtClaims.String(p, "jti"u8);
            var clientId = JwtClaims.String(p, "client_id"u8);
            if (string.IsNullOrEmpty(sub) || string.IsNullOrEmpty(scope) || string.IsNullOrEmpty(env) || string.IsNullOrEmpty(task)
                || string.IsNullOrEmpty(jti) || string.IsNullOrEmpty(clientId))
                return Fail(TokenErrors.Invalid, "the token lacks one of sub, scope, env, task, jti, client_id");

            string? target = null;
            if (p.TryGetProperty("target"u8, out var targetElement))
            {
                if (targetElement.ValueKind != JsonValueKind.String) return Fail(TokenErrors.Invalid, "target is not a string");
                target = targetElement.GetString();
            }

            if (!p.TryGetProperty("cnf"u8, out var cnf) || cnf.ValueKind != JsonValueKind.Object
                || JwtClaims.String(cnf, "jkt"u8) is not { Length: > 0 } jkt)
                return Fail(TokenErrors.Invalid, "the token is not sender-constrained (no cnf.jkt)");

            string? onBehalfOf = null;
            if (p.TryGetProperty("act"u8, out var act))
            {
                if (act.ValueKind != JsonValueKind.Object || JwtClaims.String(act, "sub"u8) is not { Length: > 0 } actor)
                    return Fail(TokenErrors.Invalid, "act must be an object with sub (RFC 8693 §4.1)");
                onBehalfOf = actor;
            }

            IReadOnlyList<string> restrictions = [];
            if (p.TryGetProperty("restrictions"u8, out var restrictionsElement))
            {
                if (restrictionsElement.ValueKind != JsonValueKind.Array) return Fail(TokenErrors.Invalid, "restrictions is not an array");
                var count = restrictionsElement.GetArrayLength();
                if (count > 0)
                {
                    var list = new string[count];
                    var i = 0;
                    foreach (var item in restrictionsElement.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.String) return Fail(TokenErrors.Invalid, "restrictions holds a non-string");
                        list[i++] = item.GetString()!;
                    }
                    restrictions = list;
                }
            }

            if (!p.TryGetProperty("policy_version"u8, out var pv) || pv.ValueKind != JsonValueKind.Number || !pv.TryGetInt32(out var policyVersion))
                return Fail(TokenErrors.Invalid, "the token has no integer policy_version");

            keyId = jwt.KeyId;
            return new AccessTokenClaims(
                iss, sub, aud, scope, env, task, target, jti,
                DateTimeOffset.FromUnixTimeSeconds(iat.Value), DateTimeOffset.FromUnixTimeSeconds(exp.Value),
                jkt, clientId, onBehalfOf, restrictions, policyVersion);
        }
    }

    private static Result<AccessTokenClaims> Fail(string code, string message) => Result<AccessTokenClaims>.Fail(code, message);
}
