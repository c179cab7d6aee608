using Writ.Core.Audit;
using Writ.Core.Approvals;
using Writ.Core.Common;
using Writ.Core.Humans;

namespace Writ.Core.Storage;

// Stores for the humans-in-the-loop feature: operators and sessions, approvals, webhook deliveries.
// As in Stores.cs, every method is one transaction.

public interface IUserStore
{
    /// <summary>Adds a user; <c>user.exists</c> when the name is taken (nothing written).</summary>
    Task<Result<User>> AddAsync(User user, CancellationToken ct);

    Task<User?> GetAsync(string name, CancellationToken ct);

    Task<IReadOnlyList<User>> ListAsync(CancellationToken ct);

    /// <summary>Disables the user and revokes every session of theirs in one transaction. False when there is no such user.</summary>
    Task<bool> DisableAsync(string name, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Claims one password attempt for <paramref name="name"/> before the password is checked, in one statement, so
    /// parallel guesses cannot all slip in under the limit: counts it, and the attempt that reaches
    /// <paramref name="threshold"/> locks the account until <paramref name="now"/> + <paramref name="lockout"/> (restarting
    /// the count). A locked account is not claimed. Null when there is no such user. A correct password then calls
    /// <see cref="ClearLoginFailuresAsync"/> (or <see cref="AddSessionAsync"/>), which undoes the count and any lock.
    /// </summary>
    Task<LoginAttempt?> ClaimLoginAttemptAsync(string name, DateTimeOffset now, int threshold, TimeSpan lockout, CancellationToken ct);

    /// <summary>After a correct password: no failures counted, no lock.</summary>
    Task ClearLoginFailuresAsync(string name, CancellationToken ct);

    /// <summary>Clears failures and lock (see <see cref="ClearLoginFailuresAsync"/>) and stores the new session, in one transaction.</summary>
    Task AddSessionAsync(UserSession session, CancellationToken ct);

    /// <summary>The session with its user, whatever their state (the caller checks expiry, revocation and status).</summary>
    Task<SessionHolder?> FindSessionAsync(string tokenHash, CancellationToken ct);

    /// <summary>True when an unrevoked session was revoked.</summary>
    Task<bool> RevokeSessionAsync(string tokenHash, DateTimeOffset now, CancellationToken ct);
}

/// <summary>The user as the claim left it, and whether the attempt may go on (false: the account is locked).</summary>
public sealed record LoginAttempt(User User, bool Claimed);

public interface IApprovalStore
{
    Task CreateAsync(Approval approval, CancellationToken ct);

    Task<Approval?> GetAsync(string id, CancellationToken ct);

    /// <summary>A pending, unexpired approval for exactly this request, so that asking again does not page the approvers again.</summary>
    Task<Approval?> FindPendingAsync(ApprovalBinding binding, DateTimeOffset now, CancellationToken ct);

    /// <summary>Pending, unexpired approvals of one agent's task.</summary>
    Task<int> CountPendingAsync(string agentId, string taskId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Newest first; <paramref name="status"/> null for all.</summary>
    Task<IReadOnlyList<Approval>> ListAsync(string? status, int limit, CancellationToken ct);

    /// <summary>
    /// Writes <paramref name="updated"/> (status, votes, decision and window times) only if the stored version is
    /// still <paramref name="updated"/>.Version − 1: of two deciders racing, exactly one wins. False for the loser.
    /// </summary>
    Task<bool> UpdateAsync(Approval updated, CancellationToken ct);

    /// <summary>
    /// Marks pending approvals past their expiry, or whose task has ended (completed, expired), as expired, with the record
    /// <paramref name="audit"/> makes for each in the same transaction; returns them.
    /// </summary>
    Task<IReadOnlyList<Approval>> ExpireDueAsync(DateTimeOffset now, Func<Approval, AuditEvent>? audit, CancellationToken ct);

    /// <summary>
    /// Closes approved elevations whose window has ended and, in the same transaction, revokes the credentials
    /// issued for their exact request while the window was open. Returns each closed elevation with how many
    /// credentials it revoked. The record <paramref name="audit"/> makes for each commits in the same transaction.
    /// </summary>
    Task<IReadOnlyList<(Approval Elevation, int Revoked)>> CloseEndedWindowsAsync(DateTimeOffset now, Func<Approval, int, AuditEvent>? audit, CancellationToken ct);
}

/// <summary>One webhook message to one URL, with its delivery state (the outbox and the delivery log are the same rows).</summary>
public sealed record WebhookDelivery(
    string Id,
    string Event,
    string Subject,
    string Url,
    string Body,
    string Status,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    int? LastStatus,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt);

public static class WebhookStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

public interface IWebhookStore
{
    Task EnqueueAsync(IReadOnlyList<WebhookDelivery> deliveries, CancellationToken ct);

    /// <summary>Pending deliveries due at <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct);

    /// <summary>Records one attempt: delivered, retry at <paramref name="retryAt"/>, or (retryAt null and not delivered) failed for good.</summary>
    Task RecordAttemptAsync(string id, bool delivered, int? httpStatus, string? error, DateTimeOffset now, DateTimeOffset? retryAt, CancellationToken ct);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListAsync(int limit, CancellationToken ct);
}
