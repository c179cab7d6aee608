namespace Writ.Core.Tokens;

/// <summary>
/// What a Writ access token says (RFC 9068 §2.2 plus Writ's claims). Times have seconds precision
/// (JWT NumericDate, RFC 7519 §2). <see cref="Jkt"/> binds the token to the agent's DPoP key
/// (<c>cnf.jkt</c>, RFC 9449 §6.1); <see cref="OnBehalfOf"/> is the human in the RFC 8693 §4.1
/// <c>act</c> claim.
/// </summary>
/// <param name="Issuer"><c>iss</c>: the Writ server's issuer URL.</param>
/// <param name="Subject"><c>sub</c>: the agent id (<c>name@environment</c>).</param>
/// <param name="Audience"><c>aud</c>: the resource name (RFC 8707).</param>
/// <param name="Scope"><c>scope</c>: space-separated <c>resource:action</c> values.</param>
/// <param name="Environment"><c>env</c>: the one environment this token works in.</param>
/// <param name="TaskId"><c>task</c>: revoking the task revokes the token.</param>
/// <param name="Target"><c>target</c>: the single object the token may touch, if restricted.</param>
/// <param name="Jti"><c>jti</c>: unique id, the revocation handle.</param>
/// <param name="Restrictions"><c>restrictions</c>: role restrictions the gateway enforces (<c>no-delete</c>, …).</param>
/// <param name="PolicyVersion"><c>policy_version</c>: the policy version that allowed issuance.</param>
public sealed record AccessTokenClaims(
    string Issuer,
    string Subject,
    string Audience,
    string Scope,
    string Environment,
    string TaskId,
    string? Target,
    string Jti,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string Jkt,
    string ClientId,
    string? OnBehalfOf,
    IReadOnlyList<string> Restrictions,
    int PolicyVersion)
{
    /// <summary>The <c>typ</c> header of a JWT access token (RFC 9068 §2.1).</summary>
    public const string TokenType = "at+jwt";

    /// <summary>True when <paramref name="scopeValue"/> is one of the space-separated values of <see cref="Scope"/> (RFC 6749 §3.3).</summary>
    public bool HasScope(string scopeValue)
    {
        foreach (var range in Scope.AsSpan().Split(' '))
        {
            if (Scope.AsSpan()[range].SequenceEqual(scopeValue)) return true;
        }
        return false;
    }
}
