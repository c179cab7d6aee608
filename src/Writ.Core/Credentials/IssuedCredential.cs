namespace Writ.Core.Credentials;

/// <summary>
/// The record of one issued access token (never the token itself): enough to list an agent's active
/// credentials and to revoke by jti, task or agent.
/// </summary>
public sealed record IssuedCredential(
    string Jti,
    string AgentId,
    string TaskId,
    string Resource,
    string Environment,
    string Scope,
    string? Target,
    string KeyThumbprint,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt);
