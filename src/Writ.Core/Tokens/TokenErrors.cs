namespace Writ.Core.Tokens;

/// <summary>Stable error codes of <see cref="AccessTokenValidator"/>. A server maps every one to 401 <c>invalid_token</c> (RFC 6750 §3.1).</summary>
public static class TokenErrors
{
    /// <summary>Malformed token, wrong <c>typ</c>, or a missing/ill-typed claim.</summary>
    public const string Invalid = "token.invalid";
    public const string UnsupportedAlg = "token.unsupported_alg";
    /// <summary>The <c>kid</c> names no current or recently retired signing key.</summary>
    public const string UnknownKey = "token.unknown_kid";
    public const string BadSignature = "token.bad_signature";
    public const string WrongIssuer = "token.wrong_issuer";
    public const string Expired = "token.expired";
    public const string NotYetValid = "token.not_yet_valid";
    public const string WrongAudience = "token.wrong_audience";
}

/// <summary>Stable error codes of <see cref="DpopProofValidator"/> (RFC 9449 §4.3). A server answers 400/401 <c>invalid_dpop_proof</c> (RFC 9449 §5, §7.1).</summary>
public static class DpopErrors
{
    public const string Missing = "dpop.missing";
    /// <summary>Malformed proof, more than one proof, wrong <c>typ</c>, unacceptable <c>jwk</c> (including a private one), missing/ill-typed claim.</summary>
    public const string Invalid = "dpop.invalid";
    public const string UnsupportedAlg = "dpop.unsupported_alg";
    public const string BadSignature = "dpop.bad_signature";
    public const string HtmMismatch = "dpop.htm_mismatch";
    public const string HtuMismatch = "dpop.htu_mismatch";
    /// <summary><c>iat</c> outside the accepted window (too old, or too far in the future).</summary>
    public const string Stale = "dpop.stale";
    public const string Replayed = "dpop.replayed";
    public const string AthMismatch = "dpop.ath_mismatch";
    /// <summary>The proof's key is not the one the access token is bound to (<c>cnf.jkt</c>, RFC 9449 §7.1).</summary>
    public const string KeyMismatch = "dpop.key_mismatch";
}

/// <summary>Stable error codes of <see cref="ClientAssertionValidator"/> (RFC 7523 §3). A server answers 401 <c>invalid_client</c> (RFC 6749 §5.2).</summary>
public static class ClientAssertionErrors
{
    public const string Invalid = "client_assertion.invalid";
    public const string UnsupportedAlg = "client_assertion.unsupported_alg";
    /// <summary><c>iss</c>/<c>sub</c> names no client with an enrolled key.</summary>
    public const string UnknownClient = "client_assertion.unknown_client";
    public const string BadSignature = "client_assertion.bad_signature";
    public const string WrongAudience = "client_assertion.wrong_audience";
    public const string Expired = "client_assertion.expired";
    public const string NotYetValid = "client_assertion.not_yet_valid";
    public const string Replayed = "client_assertion.replayed";
}
