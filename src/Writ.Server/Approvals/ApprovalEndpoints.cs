using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Approvals;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Humans;
using Writ.Core.Storage;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.Humans;
using Writ.Server.Webhooks;

namespace Writ.Server.Approvals;

/// <summary>
/// <c>/api/approvals</c>: approvers (and auditors, admins, read-only) list and inspect requests; approvers approve
/// or deny with a reason. Every decision, refused or not, is audited with actor kind <c>human</c> before it takes
/// effect. Agents never get here (invariant 8); who may decide is <see cref="ApprovalDecisions.Decide"/>'s call.
/// </summary>
internal static class ApprovalEndpoints
{
    public static IEndpointRouteBuilder MapApprovals(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/approvals").RequireHuman(HumanRoles.Approver, HumanRoles.Auditor, HumanRoles.Admin);
        group.MapGet("", async (string? status, int? limit, IWritStore store, CancellationToken ct) =>
        {
            if (status is not null && status is not (ApprovalStatuses.Pending or ApprovalStatuses.Approved or ApprovalStatuses.Denied
                    or ApprovalStatuses.Expired or ApprovalStatuses.Used or ApprovalStatuses.Closed))
                return Problems.BadRequest("request.invalid_status", "status must be pending, approved, denied, expired, used or closed");
            var list = await store.Approvals.ListAsync(status, Math.Clamp(limit ?? 100, 1, 1000), ct);
            return Results.Json(list.Select(ToInfo).ToList(), WritJson.Options);
        });
        group.MapGet("/{id}", async (string id, IWritStore store, CancellationToken ct) =>
            await store.Approvals.GetAsync(id, ct) is { } a ? Results.Json(ToInfo(a), WritJson.Options) : NotFound(id));
        group.MapPost("/{id}/approve", (string id, HttpContext http, IWritStore store, PasswordCheck passwords, AuditLog audit, ApprovalNotifier notifier, TimeProvider clock) =>
            DecideAsync(id, true, http, store, passwords, audit, notifier, clock)).AllowRoles(HumanRoles.Approver);
        group.MapPost("/{id}/deny", (string id, HttpContext http, IWritStore store, PasswordCheck passwords, AuditLog audit, ApprovalNotifier notifier, TimeProvider clock) =>
            DecideAsync(id, false, http, store, passwords, audit, notifier, clock)).AllowRoles(HumanRoles.Approver);
        return app;
    }

    private static async Task<IResult> DecideAsync(string id, bool approve, HttpContext http, IWritStore store, PasswordCheck passwords, AuditLog audit,
        ApprovalNotifier notifier, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var caller = Caller.Of(http);
        var body = await RequestBody.ReadJsonAsync<DecideApprovalRequest>(http.Request, 8 * 1024);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        TimeSpan? window = null;
        if (body.Value.Window is { } w)
        {
            if (!Durations.TryParse(w, out var parsed)) return Problems.BadRequest("approval.invalid_window", "window must be a duration like 10m or 600s");
            window = parsed;
        }

        var action = approve ? "approval.approve" : "approval.deny";
        var approval = await store.Approvals.GetAsync(id, ct);
        if (approval is null) return NotFound(id);
        var now = clock.GetUtcNow();

        // The bootstrap admin token is not a person; only a user session can decide, and only with the user's password
        // typed again: a session token read from the approver's disk (by an agent running as them) cannot approve.
        Result<Approval> decided;
        if (caller.SessionHash is null)
        {
            decided = Result<Approval>.Fail("approval.not_approver", $"{caller.ActorId} is not a user with the approver role");
        }
        else if (string.IsNullOrEmpty(body.Value.Password))
        {
            decided = Result<Approval>.Fail("auth.reauthentication_required", "deciding an approval needs your password again (writ approvals asks for it)");
        }
        else
        {
            var (check, user) = await passwords.CheckAsync(caller.ActorId, body.Value.Password, ct);
            if (check is PasswordOutcome.Locked or PasswordOutcome.WrongAndLocked)
            {
                await audit.RecordAsync(Event(now, caller, action, approval, Decisions.Deny, "auth.locked", body.Value.Reason), null, ct);
                return UserEndpoints.Locked(user!.LockedUntil!.Value, now);
            }
            if (check == PasswordOutcome.Correct) await store.Users.ClearLoginFailuresAsync(user!.Name, ct);
            decided = check == PasswordOutcome.Correct
                ? ApprovalDecisions.Decide(approval, user!, approve, body.Value.Reason, window, now)
                : Result<Approval>.Fail("auth.reauthentication_failed", "the password is not right");
        }
        if (decided.IsSuccess && approve && !await TaskIsOpenAsync(store, approval.Request.TaskId, now, ct))
        {
            decided = Result<Approval>.Fail("approval.task_ended",
                $"task {approval.Request.TaskId} has ended (completed or expired): approving would grant nothing; the agent must ask again under an open task");
        }
        if (!decided.IsSuccess)
        {
            await audit.RecordAsync(Event(now, caller, action, approval, Decisions.Deny, decided.Error!.Code, body.Value.Reason), null, ct);
            return Problems.Of(decided.Error!, StatusOf(decided.Error!.Code));
        }

        var next = decided.Value with { Version = approval.Version + 1 };
        var outcome = next.Status == ApprovalStatuses.Pending ? "approval.vote_recorded" : "approval." + next.Status;
        await audit.RecordAsync(Event(now, caller, action, next, approve ? Decisions.Allow : Decisions.Deny, outcome, body.Value.Reason), null, ct);
        if (!await store.Approvals.UpdateAsync(next, ct))
        {
            // Another approver decided first: this decision did not happen, and the log says so.
            await audit.RecordAsync(Event(clock.GetUtcNow(), caller, action, approval, Decisions.Deny, "approval.conflict", null), null, ct);
            return Problems.Of(409, "approval.conflict", $"approval {approval.Id} was decided by someone else at the same moment; look at it again");
        }
        if (next.Status != ApprovalStatuses.Pending) await notifier.DecidedAsync(next, ct);
        return Results.Json(ToInfo(next), WritJson.Options);
    }

    private static async Task<bool> TaskIsOpenAsync(IWritStore store, string taskId, DateTimeOffset now, CancellationToken ct) =>
        await store.Tasks.GetAsync(taskId, ct) is { } task && task.IsOpenAt(now);

    private static int StatusOf(string code) => code switch
    {
        "approval.reason_required" or "approval.invalid_reason" or "approval.invalid_window" => 400,
        "approval.not_pending" or "approval.expired" or "approval.already_decided" or "approval.task_ended" => 409,
        "auth.reauthentication_required" or "auth.reauthentication_failed" => 401,
        _ => 403,
    };

    private static AuditEvent Event(DateTimeOffset now, Caller caller, string action, Approval a, string decision, string reason, string? why)
    {
        var details = new Dictionary<string, object?> { ["approval"] = a.Id, ["kind"] = a.Kind, ["agent"] = a.Request.AgentId };
        if (!string.IsNullOrWhiteSpace(why)) details["reason"] = why.Length <= ApprovalDecisions.MaxReasonLength ? why.Trim() : why[..ApprovalDecisions.MaxReasonLength];
        if (a.WindowEndsAt is { } end) details["window_ends_at"] = end.ToString("O");
        return new AuditEvent(now, caller.ActorKind, caller.ActorId, a.OnBehalfOf, a.Request.TaskId, action, a.Request.Resource, a.Request.Environment,
            a.Request.Scope, a.Request.Target, decision, reason, null, 0, AuditDetails.Of(details));
    }

    private static IResult NotFound(string id) => Problems.Of(404, "approval.not_found", $"no approval {Agents.AgentEndpoints.Bounded(id)}");

    internal static ApprovalInfo ToInfo(Approval a) => new(
        a.Id, a.Kind, a.Status, a.Request.AgentId, a.OnBehalfOf, a.AgentOwner, a.Request.TaskId, a.Request.Resource, a.Request.Environment,
        a.Request.Scope, a.Request.Target, a.Request.TtlSeconds, a.Justification, a.Rule.Required, a.Approvals, a.Rule.Approvers,
        (int)a.Rule.MaxWindow.TotalSeconds, a.RequestedAt, a.ExpiresAt, a.DecidedAt, a.WindowEndsAt, a.UsedAt,
        a.Votes.Select(v => new ApprovalVoteInfo(v.User, v.Approve ? "approve" : "deny", v.Reason, v.At, v.WindowSeconds)).ToList());
}

/// <summary>
/// Every few seconds: pending approvals past their expiry become expired, and elevation windows that have ended
/// are closed with their credentials revoked — each audited (actor <c>system</c>) and notified.
/// </summary>
internal sealed class ApprovalMaintenance(IWritStore store, ApprovalNotifier notifier, TimeProvider clock, ILogger<ApprovalMaintenance> logger)
    : PeriodicJob(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(2);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        // Each change commits with its record (if the log cannot take them, nothing changes and the next pass tries again);
        // notifying comes after, so a notifier that fails costs notifications, never records.
        var expired = await store.Approvals.ExpireDueAsync(now, a => SystemEvent(now, "approval.expire", a, "approval.expired", null), ct);
        var closed = await store.Approvals.CloseEndedWindowsAsync(now, (a, revoked) => SystemEvent(now, "elevation.expire", a, "elevation.window_closed", revoked), ct);
        foreach (var approval in expired.Concat(closed.Select(c => c.Elevation))) await notifier.DecidedAsync(approval, ct);
    }

    private static AuditEvent SystemEvent(DateTimeOffset now, string action, Approval a, string reason, int? revoked) =>
        new(now, ActorKinds.System, "writ", a.OnBehalfOf, a.Request.TaskId, action, a.Request.Resource, a.Request.Environment, a.Request.Scope,
            a.Request.Target, Decisions.Info, reason, null, 0,
            revoked is null ? $$"""{"approval":"{{a.Id}}","agent":"{{a.Request.AgentId}}"}""" : $$"""{"approval":"{{a.Id}}","agent":"{{a.Request.AgentId}}","revoked":{{revoked}}}""");
}
