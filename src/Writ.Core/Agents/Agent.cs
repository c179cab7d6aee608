namespace Writ.Core.Agents;

/// <summary>The kinds of non-human identity Writ knows. Written in policy and audit as <c>ai-agent</c>, <c>service</c>, <c>ci</c>.</summary>
public static class AgentKinds
{
    public const string AiAgent = "ai-agent";
    public const string Service = "service";
    public const string Ci = "ci";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { AiAgent, Service, Ci };
}

public static class AgentStatuses
{
    public const string Active = "active";
    public const string Suspended = "suspended";
    public const string Offboarded = "offboarded";
}

/// <summary>
/// One entry of the inventory: a non-human identity <c>name@environment</c> with an accountable owner.
/// Declared in policy; the store adds status, keys and timestamps.
/// </summary>
public sealed record Agent(
    string Id,
    string Kind,
    string Owner,
    IReadOnlyList<string> Roles,
    string? Description,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastSeenAt)
{
    public string Name => AgentId.NameOf(Id);

    public string Environment => AgentId.EnvironmentOf(Id);
}

/// <summary>Parsing of <c>name@environment</c> agent ids.</summary>
public static class AgentId
{
    public static string NameOf(string id) => id[..id.LastIndexOf('@')];

    public static string EnvironmentOf(string id) => id[(id.LastIndexOf('@') + 1)..];

    /// <summary>Names and environments are lower-case letters, digits, '-', '_' and '.', starting with a letter or digit.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 200) return false;
        var at = id.IndexOf('@');
        if (at <= 0 || at != id.LastIndexOf('@') || at == id.Length - 1) return false;
        return IsValidName(id.AsSpan(0, at)) && IsValidName(id.AsSpan(at + 1));
    }

    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 100 || !char.IsAsciiLetterOrDigit(name[0])) return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.')) return false;
        }
        return true;
    }
}

/// <summary>A public key enrolled by an agent. The key is identified by its RFC 7638 JWK thumbprint, which DPoP-bound tokens carry as <c>cnf.jkt</c>.</summary>
public sealed record AgentKey(string Thumbprint, string AgentId, string PublicJwk, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A one-time enrollment code, stored as its SHA-256 only. Single use, 15 minutes.</summary>
public sealed record EnrollmentCode(string CodeHash, string AgentId, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt);
