using System.Text.Json.Serialization;

namespace Writ.Client.Contracts;

// The JSON shapes of Writ's HTTP API, shared by the server, this client and the CLI so the two sides
// cannot drift. snake_case on the wire (System.Text.Json's SnakeCaseLower policy).

public sealed record PolicyFile(string Path, string Text);

public sealed record ApplyPolicyRequest(IReadOnlyList<PolicyFile> Files);

/// <summary>An applied version; the counts are given when the version was just applied (history lists omit them).</summary>
public sealed record PolicyVersionInfo(int Version, string Sha256, string AppliedBy, DateTimeOffset AppliedAt, int? Agents = null, int? Roles = null, int? Resources = null,
    IReadOnlyList<PolicyProblem>? Warnings = null);

/// <summary>One policy problem with its position, as <c>writ policy validate</c> prints it.</summary>
public sealed record PolicyProblem(string Code, string Message, string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Code}: {Message}";
}

/// <summary>The server's check of a policy against its current users (approval rules nobody could satisfy).</summary>
public sealed record PolicyCheckResult(bool Valid, IReadOnlyList<PolicyProblem> Problems);

public sealed record PolicyDocumentInfo(int Version, string Sha256, string AppliedBy, DateTimeOffset AppliedAt, string Source);

public sealed record AgentInfo(
    string Id,
    string Name,
    string Environment,
    string Kind,
    string Owner,
    IReadOnlyList<string> Roles,
    string? Description,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSeenAt,
    int ActiveCredentials,
    int Keys);

public sealed record AgentKeyInfo(string Thumbprint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record AgentDetail(AgentInfo Agent, IReadOnlyList<AgentKeyInfo> Keys, IReadOnlyList<CredentialInfo> ActiveCredentials);

public sealed record EnrollmentCodeInfo(string AgentId, string Code, DateTimeOffset ExpiresAt);

/// <summary>Sent by the agent, with a DPoP proof signed by the key it enrolls (proof of possession).</summary>
public sealed record EnrollRequest(string Code, string Jwk);

public sealed record EnrollResponse(string AgentId, string Thumbprint);

public sealed record StartTaskRequest(string Purpose, string? Ticket, string? OnBehalfOf, int? TtlSeconds);

public sealed record TaskInfo(
    string Id,
    string AgentId,
    string Purpose,
    string? Ticket,
    string? OnBehalfOf,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? ClosedAt);

public sealed record CredentialInfo(
    string Jti,
    string AgentId,
    string TaskId,
    string Resource,
    string Environment,
    string Scope,
    string? Target,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt);

/// <summary>RFC 6749 §5.1 access token response (token_type DPoP per RFC 9449 §5).</summary>
public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("environment")] string Environment,
    [property: JsonPropertyName("target")] string? Target);

/// <summary>RFC 6749 §5.2 error response, with Writ's stable code in <c>writ_code</c>.</summary>
public sealed record OAuthError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string ErrorDescription,
    [property: JsonPropertyName("writ_code")] string WritCode,
    [property: JsonPropertyName("approval_id")] string? ApprovalId = null,
    [property: JsonPropertyName("interval")] int? Interval = null,
    [property: JsonPropertyName("expires_in")] int? ExpiresIn = null);

public sealed record AuditEntry(
    long Seq,
    DateTimeOffset At,
    string ActorKind,
    string ActorId,
    string? OnBehalfOf,
    string? TaskId,
    string Action,
    string? Resource,
    string? Environment,
    string? Scope,
    string? Target,
    string Decision,
    string? Reason,
    int? PolicyVersion,
    long DurationMicros,
    string? Details,
    string PrevHash,
    string Hash);

public sealed record AuditProblemInfo(long Seq, string Kind, string Message);

public sealed record AuditVerifyResult(bool Ok, long Records, long? HeadSeq, int Checkpoints, IReadOnlyList<AuditProblemInfo> Problems);

public sealed record SigningKeyInfo(string KeyId, DateTimeOffset CreatedAt, DateTimeOffset? RetiredAt, bool Active);

/// <summary>The value of an upstream secret, sent once to store it. Write-only: no response ever carries it back.</summary>
public sealed record PutSecretRequest(string Value)
{
    public override string ToString() => "PutSecretRequest { Value = *** }";
}

public sealed record SecretVersionInfo(int Version, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>What may be known about a secret: name and versions, never the value.</summary>
public sealed record SecretInfo(string Name, int LatestVersion, DateTimeOffset CreatedAt, DateTimeOffset? RotatedAt, IReadOnlyList<SecretVersionInfo> Versions);

/// <summary>RFC 9457 problem details with Writ's stable <c>code</c>.</summary>
public sealed record Problem(string? Type, string? Title, int? Status, string? Detail, string? Code);

/// <summary>A standalone gateway's credential for the server, shown once (only its hash is stored).</summary>
/// <summary><see cref="Environment"/>: the one environment the gateway may serve (its secrets, its agents' tokens); null for all.</summary>
public sealed record GatewayTokenRequest(string Name, string? Environment = null);

public sealed record GatewayTokenInfo(string Name, string Token);

public sealed record GatewayRevocationInfo(string Name, int Revoked);

/// <summary>A gateway following the server's feed: the feed version it has applied and when it last asked.</summary>
public sealed record GatewayFollowerInfo(string Name, long Applied, DateTimeOffset SeenAt);
