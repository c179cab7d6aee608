using System.Text.RegularExpressions;

namespace Writ.Core.Humans;

/// <summary>
/// What a human operator may do. Auditors read the audit log and the inventory; approvers see and decide
/// approvals; admins apply policy and manage agents and users. A user may hold several.
/// </summary>
public static class HumanRoles
{
    public const string Admin = "admin";
    public const string Approver = "approver";
    public const string Auditor = "auditor";

    public static readonly IReadOnlyList<string> All = [Admin, Approver, Auditor];

    public static bool IsKnown(string role) => role is Admin or Approver or Auditor;
}

public static class UserStatuses
{
    public const string Active = "active";
    public const string Disabled = "disabled";
}

/// <summary>
/// A human operator. <see cref="PasswordHash"/> is a <see cref="PasswordHashing"/> string, never a password;
/// <see cref="FailedLogins"/> counts consecutive failures and <see cref="LockedUntil"/> is set when they
/// reach the lockout threshold.
/// </summary>
public sealed record User(
    string Name,
    IReadOnlyList<string> Roles,
    string Status,
    string PasswordHash,
    int FailedLogins,
    DateTimeOffset? LockedUntil,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt)
{
    public bool IsActive => Status == UserStatuses.Active;

    public bool Has(string role) => Roles.Contains(role, StringComparer.Ordinal);
}

/// <summary>A login session. The token is a random bearer string shown once; only its SHA-256 is stored.</summary>
public sealed record UserSession(string TokenHash, string UserName, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A session found by its token, with the user it belongs to (one read on every human request).</summary>
public sealed record SessionHolder(UserSession Session, User User);

public static partial class UserNames
{
    /// <summary>
    /// Whether two names written by different people (a user name, a policy <c>owner</c>, an agent's <c>on_behalf_of</c>)
    /// name the same person, so the two-person rule cannot be dodged with <c>Dana@Example.com</c>, a trailing space,
    /// a zero-width character or full-width letters. Owners and <c>on_behalf_of</c> are also validated to
    /// <see cref="IsPerson"/>, so other look-alikes never get this far.
    /// </summary>
    public static bool SamePerson(string? a, string? b) =>
        a is not null && b is not null && Canonical(a).Length > 0 && string.Equals(Canonical(a), Canonical(b), StringComparison.Ordinal);

    /// <summary>Case-folded (<see cref="Common.CaseFolding"/>: full-width and other look-alikes too), without white space or invisible formatting characters.</summary>
    public static string Canonical(string name)
    {
        var folded = new System.Text.StringBuilder(name.Length);
        foreach (var c in Common.CaseFolding.Fold(name))
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format) continue;
            folded.Append(c);
        }
        return folded.ToString();
    }

    /// <summary>
    /// A way to name a person that the two-person rule can compare with user names: a user name or an e-mail address,
    /// in any letter case (an agent's <c>owner</c> in policy, a task's <c>on_behalf_of</c>).
    /// </summary>
    public static bool IsPerson(string? name) => name is not null && IsValid(name.Trim().ToLowerInvariant());

    /// <summary>
    /// Lower-case letters, digits, '.', '_', '-', '+' and '@', 1–128 characters, starting with a letter or digit — so a
    /// user can be named by the e-mail address that agents' <c>owner</c> fields use, and the two-person rule can see it.
    /// </summary>
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._@+-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>How sessions and lockout behave; one place so the server, the docs and the tests agree.</summary>
public static class LoginRules
{
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    /// <summary>Consecutive failed logins that lock the account …</summary>
    public const int LockoutThreshold = 5;

    /// <summary>… for this long. A successful login resets the count.</summary>
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public const int MinPasswordLength = 12;

    public const int MaxPasswordLength = 1024;
}
