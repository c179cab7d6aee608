namespace Writ.Client.Http;

/// <summary>
/// The server refused a request. <see cref="Code"/> is Writ's stable error code (e.g.
/// <c>policy.environment_mismatch</c>); <see cref="Message"/> says why, as the server worded it.
/// </summary>
public sealed class WritApiException(int status, string code, string message, string? oauthError = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>The RFC 6749 <c>error</c> value when the refusal came from an OAuth endpoint.</summary>
    public string? OAuthError { get; } = oauthError;

    /// <summary>For <c>approval_required</c>/<c>elevation_required</c>/<c>authorization_pending</c>: the approval to poll with.</summary>
    public string? ApprovalId { get; init; }

    /// <summary>How many seconds to wait between polls (OpenID CIBA <c>interval</c>).</summary>
    public int? Interval { get; init; }
}
