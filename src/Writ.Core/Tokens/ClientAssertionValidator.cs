using System.Security.Cryptography;
using System.Text.Json;
using Writ.Core.Common;
using Writ.Core.Crypto;

namespace Writ.Core.Tokens;

/// <summary>A verified RFC 7523 client assertion: who the client is and which of its keys signed.</summary>
/// <param name="KeyThumbprint">RFC 7638 thumbprint of the key that verified the signature.</param>
public sealed record ClientAssertion(string ClientId, string Jti, DateTimeOffset ExpiresAt, string KeyThumbprint);

/// <summary>
/// Authenticates a client with <c>private_key_jwt</c> (RFC 7523 §2.2, §3; OpenID Connect Core §9):
/// ES256 only; <c>iss</c> = <c>sub</c> = the client id; <c>aud</c> holds the token endpoint URL or the
/// issuer; <c>exp</c> present and at most <see cref="MaxLifetime"/> ahead; <c>jti</c> used once
/// (kept in the replay cache until <c>exp</c>); signed by the agent's enrolled key.
/// </summary>
/// <param name="issuer">The server's issuer identifier, accepted as <c>aud</c> besides the endpoint URL.</param>
public sealed class ClientAssertionValidator(IDpopReplayCache replayCache, TimeProvider clock, string issuer)
{
    /// <summary>The JWT bearer client assertion type of RFC 7523 §2.2.</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How far ahead <c>exp</c> may be: an assertion is made for one request, not kept.</summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromMinutes(5);

    public int MaxJtiLength { get; init; } = 256;

    /// <param name="expectedAudience">The token endpoint URL the assertion was presented to.</param>
    /// <param name="keyLookup">The enrolled public key of a client id, or null when the client is unknown or has no active key.</param>
    public Result<ClientAssertion> Validate(string assertion, string expectedAudience, Func<string, ECDsa?> keyLookup) =>
        Validate(assertion, expectedAudience, (clientId, _) => keyLookup(clientId) is { } key ? [key] : []);

    /// <summary>As above, for a client with several enrolled keys (rotation): any of them may sign; the header <c>kid</c> (a thumbprint) is passed as a hint.</summary>
    public Result<ClientAssertion> Validate(string assertion, string expectedAudience, Func<string, string?, IReadOnlyList<ECDsa>> keysLookup)
    {
        if (string.IsNullOrEmpty(assertion)) return Fail(ClientAssertionErrors.Invalid, "no client assertion");
        if (!Jwt.TryParse(assertion, "client_assertion", Jwt.MaxLength, out var jwt, out var parseError)) return parseError;
        using (jwt)
        {
            // Cross-JWT confusion (RFC 8725 §2.8, §3.11): an access token or DPoP proof is never a client assertion.
            if (jwt.Type is { } typ && !(typ.Equals("JWT", StringComparison.OrdinalIgnoreCase) || typ.Equals("client-authentication+jwt", StringComparison.OrdinalIgnoreCase)))
                return Fail(ClientAssertionErrors.Invalid, "the assertion typ is not JWT");
            if (jwt.Jwk is not null) return Fail(ClientAssertionErrors.Invalid, "a client assertion must not carry its own key (jwk header)");

            var p = jwt.Payload;
            var iss = JwtClaims.String(p, "iss"u8);
            var sub = JwtClaims.String(p, "sub"u8);
            if (string.IsNullOrEmpty(iss) || string.IsNullOrEmpty(sub)) return Fail(ClientAssertionErrors.Invalid, "the assertion lacks iss or sub");
            if (!string.Equals(iss, sub, StringComparison.Ordinal)) return Fail(ClientAssertionErrors.Invalid, "iss and sub must both be the client id (RFC 7523 §3)");

            var keys = keysLookup(iss, jwt.KeyId);
            if (keys.Count == 0) return Fail(ClientAssertionErrors.UnknownClient, "the client is unknown or has no enrolled key");
            ECDsa? verifiedBy = null;
            foreach (var key in keys)
            {
                if (jwt.VerifySignature(key))
                {
                    verifiedBy = key;
                    break;
                }
            }
            if (verifiedBy is null) return Fail(ClientAssertionErrors.BadSignature, "the assertion is not signed by the client's enrolled key");

            if (!AudienceMatches(p, expectedAudience)) return Fail(ClientAssertionErrors.WrongAudience, "the assertion is for another audience");

            var exp = JwtClaims.NumericDate(p, "exp"u8);
            if (exp is null) return Fail(ClientAssertionErrors.Invalid, "the assertion has no exp");
            var now = JwtClaims.Now(clock);
            var skew = (long)ClockSkew.TotalSeconds;
            if (now >= exp.Value + skew) return Fail(ClientAssertionErrors.Expired, "the assertion has expired");
            if (exp.Value - now > (long)(MaxLifetime + ClockSkew).TotalSeconds) return Fail(ClientAssertionErrors.Invalid, "the assertion lives too long (exp more than 5 minutes ahead)");
            if (JwtClaims.HasMember(p, "iat"u8))
            {
                var iat = JwtClaims.NumericDate(p, "iat"u8);
                if (iat is null) return Fail(ClientAssertionErrors.Invalid, "iat is not a NumericDate");
                if (iat.Value > now + skew) return Fail(ClientAssertionErrors.NotYetValid, "the assertion is issued in the future");
            }
            if (JwtClaims.HasMember(p, "nbf"u8))
            {
                var nbf = JwtClaims.NumericDate(p, "nbf"u8);
                if (nbf is null) return Fail(ClientAssertionErrors.Invalid, "nbf is not a NumericDate");
                if (nbf.Value > now + skew) return Fail(ClientAssertionErrors.NotYetValid, "the assertion is not valid yet");
            }

            var jti = JwtClaims.String(p, "jti"u8);
            if (string.IsNullOrEmpty(jti) || jti.Length > MaxJtiLength) return Fail(ClientAssertionErrors.Invalid, "the assertion has no usable jti");
            var expiresAt = DateTimeOffset.FromUnixTimeSeconds(exp.Value);
            if (!replayCache.TryAdd("ca:" + iss + ":" + jti, expiresAt + ClockSkew))
                return Fail(ClientAssertionErrors.Replayed, "this client assertion was already used (jti)");

            return new ClientAssertion(iss, jti, expiresAt, JwkThumbprint.Compute(verifiedBy));
        }
    }

    /// <summary>RFC 7523 §3 item 3: <c>aud</c> (string or array) must identify this server.</summary>
    private bool AudienceMatches(JsonElement payload, string expectedAudience)
    {
        if (!payload.TryGetProperty("aud"u8, out var aud)) return false;
        if (aud.ValueKind == JsonValueKind.String) return Matches(aud.GetString());
        if (aud.ValueKind != JsonValueKind.Array) return false;
        foreach (var item in aud.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && Matches(item.GetString())) return true;
        }
        return false;

        bool Matches(string? value) => value is not null
            && (string.Equals(value, expectedAudience, StringComparison.Ordinal) || string.Equals(value, issuer, StringComparison.Ordinal));
    }

    private static Result<ClientAssertion> Fail(string code, string message) => Result<ClientAssertion>.Fail(code, message);
}
