using System.Security.Cryptography;
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

    /// <param name="token">The compact JWT (without the <c>DPoP </c>/<c>Bearer </c> scheme).</param>
    /// <param name="expectedAudience">The resource the token is presented to; null skips the audience check (introspection).</param>
    public Result<AccessTokenClaims> Validate(string token, string? expectedAudience)
    {
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
            if (expectedAudience is not null && !string.Equals(aud, expectedAudience, StringComparison.Ordinal))
                return Fail(TokenErrors.WrongAudience, "the token is for another resource");

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

            return new AccessTokenClaims(
                iss, sub, aud, scope, env, task, target, jti,
                DateTimeOffset.FromUnixTimeSeconds(iat.Value), DateTimeOffset.FromUnixTimeSeconds(exp.Value),
                jkt, clientId, onBehalfOf, restrictions, policyVersion);
        }
    }

    private static Result<AccessTokenClaims> Fail(string code, string message) => Result<AccessTokenClaims>.Fail(code, message);
}
