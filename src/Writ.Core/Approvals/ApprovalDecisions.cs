using Writ.Core.Common;
using Writ.Core.Humans;

namespace Writ.Core.Approvals;

/// <summary>
/// The approval rules as pure functions of an <see cref="Approval"/>, a person and the time: who may decide,
/// what a decision changes, and what an agent gets when it comes back for its credential. The server only
/// loads, calls these, audits and stores.
/// </summary>
public static class ApprovalDecisions
{
    public const int MaxReasonLength = 1000;

    /// <summary>The justification the rule asks for, or the error that says what is missing.</summary>
    public static Error? CheckJustification(ApprovalRule rule, string? justification)
    {
        var text = justification?.Trim() ?? "";
        if (text.Length > ApprovalRule.MaxJustificationLength)
            return new Error("approval.justification_too_long", $"the justification must be at most {ApprovalRule.MaxJustificationLength} characters");
        if (!IsPrintable(text))
            return new Error("approval.invalid_justification", "the justification must be printable text (no control or invisible formatting characters)");
        if (!rule.JustificationRequired) return null;
        if (text.Length == 0)
            return new Error("approval.justification_required", $"this request needs a human's approval: say why in 'justification' (at least {rule.MinJustificationLength} characters)");
        if (text.Length < rule.MinJustificationLength)
            return new Error("approval.justification_too_short", $"the justification has {text.Length} characters; the policy asks for at least {rule.MinJustificationLength}");
        return null;
    }

    /// <summary>
    /// Text a person reads to decide: line breaks and tabs allowed; other control characters and invisible formatting
    /// (bidi overrides, zero-width characters), which could make it read differently from what it says, refused.
    /// </summary>
    private static bool IsPrintable(string text) =>
        !text.Any(c => (char.IsControl(c) && c is not ('\n' or '\t')) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);

    /// <summary>
    /// Applies <paramref name="user"/>'s decision. Refuses, with a stable code: a user who is disabled or not an
    /// approver, not among the rule's approvers, the person the agent acts for (on an elevation), the agent's
    /// owner on an elevation unless the rule allows it, a second vote by the same person, a request no longer
    /// pending or past its expiry, a window longer than the rule allows. An approval that reaches the required
    /// count becomes approved; an elevation's window starts then.
    /// </summary>
    public static Result<Approval> Decide(Approval approval, User user, bool approve, string? reason, TimeSpan? window, DateTimeOffset now)
    {
        var why = reason?.Trim() ?? "";
        if (why.Length == 0) return new Error("approval.reason_required", "say why: --reason \"…\" is recorded in the audit log");
        if (why.Length > MaxReasonLength || !IsPrintable(why))
            return new Error("approval.invalid_reason", $"the reason must be printable text of at most {MaxReasonLength} characters");

        if (!user.IsActive) return new Error("auth.user_disabled", $"user {user.Name} is disabled");
        if (!user.Has(HumanRoles.Approver)) return new Error("approval.not_approver", $"{user.Name} does not have the approver role");

        if (approval.Status != ApprovalStatuses.Pending)
            return new Error("approval.not_pending", $"approval {approval.Id} is already {approval.Status}");
        if (now >= approval.ExpiresAt)
            return new Error("approval.expired", $"approval {approval.Id} expired at {approval.ExpiresAt:u}; the agent must ask again");

        var rule = approval.Rule;
        if (!rule.AnyApprover && !rule.Approvers.Contains(user.Name, StringComparer.Ordinal))
            return new Error("approval.not_eligible", $"{user.Name} is not among the approvers the policy names for this request ({string.Join(", ", rule.Approvers)})");
        if (approval.IsElevation && UserNames.SamePerson(user.Name, approval.OnBehalfOf))
            return new Error("approval.self_approval", $"{user.Name} asked for this elevation (the agent acts on their behalf); another person must approve it");
        if (approval.IsElevation && UserNames.SamePerson(user.Name, approval.AgentOwner) && !rule.OwnerMayApprove)
            return new Error("approval.owner_not_allowed", $"{user.Name} owns {approval.Request.AgentId}; the policy requires someone else to approve its elevations (two-person rule)");
        if (approval.Votes.Any(v => v.User == user.Name))
            return new Error("approval.already_decided", $"{user.Name} has already decided approval {approval.Id}");

        int? windowSeconds = null;
        if (approval.IsElevation && approve)
        {
            var granted = window ?? rule.MaxWindow;
            if (granted <= TimeSpan.Zero || granted > rule.MaxWindow)
                return new Error("approval.invalid_window", $"the elevation window must be between 1 second and {Durations.Format(rule.MaxWindow)} (the policy's max_window)");
            windowSeconds = (int)granted.TotalSeconds;
        }
        else if (window is not null)
        {
            return new Error("approval.invalid_window", "a window applies only to elevations (delete/admin)");
        }

        var votes = approval.Votes.Append(new ApprovalVote(user.Name, approve, why, now, windowSeconds)).ToArray();
        var next = approval with { Votes = votes };
        if (!approve) return next with { Status = ApprovalStatuses.Denied, DecidedAt = now };
        if (votes.Count(v => v.Approve) < rule.Required) return next;

        // The window is the shortest any approver granted: nobody's approval stretches past what they agreed to.
        var windowEnds = approval.IsElevation ? now + TimeSpan.FromSeconds(votes.Where(v => v.Approve).Min(v => v.WindowSeconds ?? (int)rule.MaxWindow.TotalSeconds)) : (DateTimeOffset?)null;
        return next with { Status = ApprovalStatuses.Approved, DecidedAt = now, WindowEndsAt = windowEnds };
    }

    /// <summary>
    /// What an agent gets when it comes back with an approval id: the error that says why not (in the OpenID
    /// CIBA vocabulary: <c>authorization_pending</c>, <c>access_denied</c>, <c>expired_token</c>; <c>invalid_grant</c>
    /// for an id that does not fit the request), or success when the credential may be issued now.
    /// </summary>
    public static Redemption Redeem(Approval approval, ApprovalBinding request, DateTimeOffset now)
    {
        if (approval.Request.FirstDifference(request) is { } field)
            return Redemption.Refused("invalid_grant", new Error("approval.mismatch",
                $"approval {approval.Id} was given for another request (its {field} differs); an approval grants exactly what was asked"));

        switch (approval.Status)
        {
            case ApprovalStatuses.Pending when now >= approval.ExpiresAt:
            case ApprovalStatuses.Expired:
                return Redemption.Refused("expired_token", new Error("approval.expired", $"nobody decided approval {approval.Id} in time; ask again"));
            case ApprovalStatuses.Pending:
                var missing = approval.Rule.Required - approval.Approvals;
                return Redemption.Refused("authorization_pending", new Error("approval.pending",
                    $"approval {approval.Id} is waiting for {missing} more approval{(missing == 1 ? "" : "s")}"));
            case ApprovalStatuses.Denied:
                // The agent learns why, not who: approvers are people, and their names are not the agent's business.
                var no = approval.Votes.LastOrDefault(v => !v.Approve);
                return Redemption.Refused("access_denied", new Error("approval.denied", $"an approver denied approval {approval.Id}: {no?.Reason}"));
            case ApprovalStatuses.Used:
                return Redemption.Refused("invalid_grant", new Error("approval.used", $"approval {approval.Id} has already been used; an approval grants its request once"));
            case ApprovalStatuses.Closed:
                return Redemption.Refused("expired_token", new Error("elevation.window_closed", $"the elevation window of {approval.Id} has closed"));
            case ApprovalStatuses.Approved when approval.IsElevation && now >= approval.WindowEndsAt:
                return Redemption.Refused("expired_token", new Error("elevation.window_closed", $"the elevation window of {approval.Id} closed at {approval.WindowEndsAt:u}"));
            case ApprovalStatuses.Approved:
                return Redemption.Granted;
            default:
                return Redemption.Refused("invalid_grant", new Error("approval.invalid_state", $"approval {approval.Id} is {approval.Status}"));
        }
    }
}

/// <summary>The answer to a poll: <see cref="OAuthError"/> and <see cref="Error"/> when refused.</summary>
public sealed record Redemption(string? OAuthError, Error? Error)
{
    public static readonly Redemption Granted = new(null, null);

    public bool IsGranted => Error is null;

    public static Redemption Refused(string oauthError, Error error) => new(oauthError, error);
}
