using Microsoft.AspNetCore.Http;
using Writ.Core.Agents;
using Writ.Core.Approvals;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Policy;
using Writ.Core.Tasks;

namespace Writ.Server.OAuth;

/// <summary>
/// The human step of issuance (invariant 5), in the style of OpenID CIBA. A first request that needs a human
/// creates a pending approval bound to exactly what was asked and answers <c>approval_required</c> /
/// <c>elevation_required</c> with the approval id and a poll interval. The agent repeats the same request with
/// <c>approval_id</c>: <c>authorization_pending</c> until a human decides, then <c>access_denied</c>,
/// <c>expired_token</c>, or the token. Each answer is audited before it leaves.
/// </summary>
internal sealed partial class TokenEndpoint
{
    /// <summary>How often a client should poll, in seconds (CIBA §7.3 <c>interval</c>).</summary>
    public const int PollIntervalSeconds = 2;

    /// <summary>Pending approvals one task may have at a time.</summary>
    public const int MaxPendingPerTask = 5;

    private sealed record HumanStepContext(
        Agent Agent, WorkTask Task, TokenRequest Request, Decision Decision, int PolicyVersion, string Environment, string Resource,
        IReadOnlyList<string> Actions, TimeSpan? Ttl, long Started);

    /// <summary>Either the approval to issue under (<see cref="Grant"/>) or the answer to send now (<see cref="Answer"/>).</summary>
    private sealed record HumanStep(Approval? Grant, IResult? Answer);

    private async Task<HumanStep> HumanStepAsync(HumanStepContext c, CancellationToken ct)
    {
        var kind = c.Decision.Kind == DecisionKind.ElevationRequired ? ApprovalKinds.Elevation : ApprovalKinds.Approval;
        var rule = c.Decision.Approval ?? ApprovalRule.Default(c.Decision.Ttl);
        var scope = string.Join(' ', c.Actions.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(a => c.Resource + ":" + a));
        var binding = new ApprovalBinding(c.Agent.Id, c.Task.Id, c.Resource, c.Environment, scope, c.Request.Target,
            c.Ttl is { } t ? (int)t.TotalSeconds : null);
        var now = clock.GetUtcNow();

        if (c.Request.ApprovalId is { } id)
        {
            var approval = await store.Approvals.GetAsync(id, ct);
            // Another agent's approval id is as unknown as a made-up one: no probing of others' requests.
            if (approval is null || approval.Request.AgentId != c.Agent.Id)
                return await RefuseStepAsync(c, "invalid_grant", new Error("approval.not_found", $"no approval {Truncate(id)} for {c.Agent.Id}"), 400, null, ct);
            if (approval.Kind != kind)
                return await RefuseStepAsync(c, "invalid_grant", new Error("approval.mismatch",
                    $"approval {approval.Id} is an {approval.Kind}, but this request now needs an {kind}; ask again"), 400, approval.Id, ct);

            var redemption = ApprovalDecisions.Redeem(approval, binding, now);
            if (!redemption.IsGranted)
            {
                var pending = redemption.OAuthError == "authorization_pending";
                return await RefuseStepAsync(c, redemption.OAuthError!, redemption.Error!, redemption.OAuthError == "access_denied" ? 403 : 400,
                    approval.Id, ct, pending ? DecisionOf(kind) : Decisions.Deny);
            }
            if (kind == ApprovalKinds.Elevation) return new HumanStep(approval, null);

            // An approval grants its request once: the first redemption consumes it, a racing second one loses.
            var used = approval with { Status = ApprovalStatuses.Used, UsedAt = now, Version = approval.Version + 1 };
            if (!await store.Approvals.UpdateAsync(used, ct))
                return await RefuseStepAsync(c, "invalid_grant", new Error("approval.used", $"approval {approval.Id} has already been used"), 400, approval.Id, ct);
            return new HumanStep(used, null);
        }

        if (ApprovalDecisions.CheckJustification(rule, c.Request.Justification) is { } missing)
            return await RefuseStepAsync(c, "invalid_request", missing, 400, null, ct);
        // An elevation is for one named thing: without a target it would cover the whole resource for its window.
        if (kind == ApprovalKinds.Elevation && c.Request.Target is null)
            return await RefuseStepAsync(c, "invalid_request", new Error("elevation.target_required",
                $"an elevation is for one target: name what to {string.Join(", ", c.Actions)} with target=…"), 400, null, ct);

        // Asking again for exactly the same thing does not page the approvers again.
        var existing = await store.Approvals.FindPendingAsync(binding, now, ct);
        if (existing is not null)
        {
            await audit.RecordAsync(Event(c.Agent, c.Task, DecisionOf(kind), c.Decision.Code, c.Request, c.PolicyVersion, c.Environment, c.Resource, c.Started,
                Details(existing.Id, null)), null, ct);
            return new HumanStep(null, Pending(c.Decision, existing, now));
        }

        // Approvers' attention is finite: a task cannot keep paging them with near-identical requests.
        if (await store.Approvals.CountPendingAsync(c.Agent.Id, c.Task.Id, now, ct) >= MaxPendingPerTask)
            return await RefuseStepAsync(c, "invalid_request", new Error("approval.too_many_pending",
                $"task {c.Task.Id} already has {MaxPendingPerTask} requests waiting for a human; wait for them, or complete the task"), 429, null, ct);

        var created = new Approval(
            "apr_" + Ids.Random(12), kind, ApprovalStatuses.Pending, binding, c.Task.OnBehalfOf, c.Agent.Owner,
            c.Request.Justification?.Trim() ?? "", rule, now, now + ApprovalRule.PendingLifetime, [], null, null, null, 1);
        await audit.RecordAsync(Event(c.Agent, c.Task, DecisionOf(kind), c.Decision.Code, c.Request, c.PolicyVersion, c.Environment, c.Resource, c.Started,
            Details(created.Id, created.Justification)), null, ct);
        await store.Approvals.CreateAsync(created, ct);
        await notifier.RequestedAsync(created, ct);
        return new HumanStep(null, Pending(c.Decision, created, now));
    }

    private async Task<HumanStep> RefuseStepAsync(HumanStepContext c, string oauthError, Error error, int status, string? approvalId, CancellationToken ct,
        string decision = Decisions.Deny)
    {
        await audit.RecordAsync(Event(c.Agent, c.Task, decision, error.Code, c.Request, c.PolicyVersion, c.Environment, c.Resource, c.Started,
            approvalId is null ? null : Details(approvalId, null)), null, ct);
        return new HumanStep(null, OAuthResults.Error(oauthError, error.Code, error.Message, status,
            approvalId, oauthError == "authorization_pending" ? PollIntervalSeconds : null));
    }

    /// <summary>The first answer: what is needed, the id to poll with, how often, and for how long.</summary>
    private static IResult Pending(Decision decision, Approval approval, DateTimeOffset now)
    {
        var error = decision.Kind == DecisionKind.ElevationRequired ? "elevation_required" : "approval_required";
        var who = approval.Rule.AnyApprover ? "an approver" : string.Join(" or ", approval.Rule.Approvers);
        var message = $"{decision.Message}. Approval {approval.Id} is waiting for {who} ({approval.Rule.Required} needed): " +
                      $"poll with approval_id={approval.Id} every {PollIntervalSeconds}s, or run `writ token --wait`";
        return OAuthResults.Error(error, decision.Code, message, 403, approval.Id, PollIntervalSeconds, (int)Math.Max(0, (approval.ExpiresAt - now).TotalSeconds));
    }

    private static string DecisionOf(string kind) => kind == ApprovalKinds.Elevation ? Decisions.ElevationRequired : Decisions.ApprovalRequired;

    private static string GrantCode(Approval approval) => approval.IsElevation ? "elevation.granted" : "approval.granted";

    private static string? Details(string approvalId, string? justification) => AuditDetails.Of(justification is null
        ? new Dictionary<string, object?> { ["approval"] = approvalId }
        : new Dictionary<string, object?> { ["approval"] = approvalId, ["justification"] = justification });
}
