namespace Writ.Core.Approvals;

/// <summary>
/// Who may approve a request and on what terms, compiled from a role's <c>approvals:</c> entry (or the
/// defaults). <see cref="Approvers"/> names users; empty means any user with the approver role. Every
/// approver must also hold the approver role and be active.
/// </summary>
public sealed record ApprovalRule(
    IReadOnlyList<string> Approvers,
    int Required,
    bool JustificationRequired,
    int MinJustificationLength,
    TimeSpan MaxGrant,
    TimeSpan MaxWindow,
    bool OwnerMayApprove)
{
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan WindowCap = TimeSpan.FromHours(1);
    public static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(15);
    public const int DefaultMinJustification = 10;
    public const int MaxJustificationLength = 2000;
    public const int MaxRequired = 10;

    /// <summary>Any approver, one approval, a justification of at least 10 characters, grants up to the role's TTL, 15-minute windows, two-person rule.</summary>
    public static ApprovalRule Default(TimeSpan maxGrant) =>
        new([], 1, true, DefaultMinJustification, maxGrant, DefaultWindow, false);

    public bool AnyApprover => Approvers.Count == 0;

    /// <summary>
    /// Combines the rules of several actions in one request into one that satisfies each: the most approvals,
    /// only approvers every rule accepts, the strictest justification, the shortest grant and window.
    /// </summary>
    public static ApprovalRule Strictest(IEnumerable<ApprovalRule> rules)
    {
        ApprovalRule? result = null;
        foreach (var r in rules)
        {
            if (result is null)
            {
                result = r;
                continue;
            }
            IReadOnlyList<string> approvers = result.AnyApprover ? r.Approvers
                : r.AnyApprover ? result.Approvers
                : result.Approvers.Intersect(r.Approvers, StringComparer.Ordinal).ToArray();
            // Two named lists with nobody in common: nobody may approve (an empty list would mean "anyone").
            if (!result.AnyApprover && !r.AnyApprover && approvers.Count == 0) approvers = [NoOne];
            result = new ApprovalRule(
                approvers,
                Math.Max(result.Required, r.Required),
                result.JustificationRequired || r.JustificationRequired,
                Math.Max(result.MinJustificationLength, r.MinJustificationLength),
                result.MaxGrant < r.MaxGrant ? result.MaxGrant : r.MaxGrant,
                result.MaxWindow < r.MaxWindow ? result.MaxWindow : r.MaxWindow,
                result.OwnerMayApprove && r.OwnerMayApprove);
        }
        return result ?? throw new ArgumentException("no rules", nameof(rules));
    }

    /// <summary>A name no user can have (user names are lower-case), standing for "no one".</summary>
    public const string NoOne = "(no one)";
}
