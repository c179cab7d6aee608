using System.Text.Json;
using Writ.Client.Http;
using Writ.Core.Approvals;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Server.Approvals;

namespace Writ.Server.Webhooks;

/// <summary>
/// Turns approval events into webhook messages and puts them in the outbox (the dispatcher sends them, with
/// retries, and keeps the delivery log). Each message carries Slack-compatible <c>text</c>, so a Slack incoming
/// webhook works as is, plus the event name and the approval for programs. Never carries a secret.
/// </summary>
internal sealed class ApprovalNotifier(IWritStore store, WebhookSettings settings, TimeProvider clock)
{
    public Task RequestedAsync(Approval a, CancellationToken ct)
    {
        var who = a.Rule.AnyApprover ? "any approver" : string.Join(", ", a.Rule.Approvers);
        var what = a.IsElevation ? "an elevation" : "approval";
        var text = $":lock: *{a.Request.AgentId}* asks for {what} to *{a.Request.Scope}*" +
                   (a.Request.Target is null ? "" : $" on `{Plain(a.Request.Target)}`") +
                   $" in {a.Request.Environment}{(a.OnBehalfOf is null ? "" : $" (acting for {Plain(a.OnBehalfOf)})")}.\n" +
                   $"> {Plain(a.Justification)}\n" +
                   $"Approval `{a.Id}` needs {a.Rule.Required} of {who} before {a.ExpiresAt:HH:mm} UTC: " +
                   $"`writ approvals approve {a.Id} --reason \"…\"`{(a.IsElevation ? " [--window 10m]" : "")} or `writ approvals deny {a.Id} --reason \"…\"`";
        return EnqueueAsync("approval.requested", a, text, ct);
    }

    public Task DecidedAsync(Approval a, CancellationToken ct)
    {
        var last = a.Votes.LastOrDefault();
        var text = a.Status switch
        {
            ApprovalStatuses.Approved when a.IsElevation =>
                $":white_check_mark: {last?.User} approved the elevation `{a.Id}` of *{a.Request.AgentId}* to *{a.Request.Scope}* until {a.WindowEndsAt:HH:mm:ss} UTC: {Plain(last?.Reason)}",
            ApprovalStatuses.Approved => $":white_check_mark: {last?.User} approved `{a.Id}`: *{a.Request.AgentId}* may *{a.Request.Scope}* once: {Plain(last?.Reason)}",
            ApprovalStatuses.Denied => $":no_entry: {last?.User} denied `{a.Id}` (*{a.Request.AgentId}*, *{a.Request.Scope}*): {Plain(last?.Reason)}",
            ApprovalStatuses.Expired => $":hourglass: nobody decided `{a.Id}` (*{a.Request.AgentId}*, *{a.Request.Scope}*) in time; it expired",
            ApprovalStatuses.Closed => $":lock: the elevation window of `{a.Id}` (*{a.Request.AgentId}*, *{a.Request.Scope}*) has closed; its credentials are revoked",
            _ => $"approval `{a.Id}` is {a.Status}",
        };
        return EnqueueAsync("approval." + a.Status, a, text, ct);
    }

    /// <summary>
    /// Text an agent (or a person) wrote, made inert for Slack's markup: <c>&amp; &lt; &gt;</c> escaped as Slack asks, so
    /// a justification cannot ping <c>&lt;!channel&gt;</c> or dress up a link; line breaks flattened so it stays one quote line;
    /// backticks dropped so it cannot close the code span around it.
    /// </summary>
    internal static string Plain(string? text) =>
        (text ?? "").Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)
            .Replace('\n', ' ').Replace('\r', ' ').Replace("`", "'", StringComparison.Ordinal);

    private Task EnqueueAsync(string eventName, Approval approval, string text, CancellationToken ct)
    {
        if (settings.Urls.Count == 0) return Task.CompletedTask;
        var body = JsonSerializer.Serialize(new WebhookMessage(text, eventName, ApprovalEndpoints.ToInfo(approval)), WritJson.Options);
        var now = clock.GetUtcNow();
        var deliveries = settings.Urls.Select(url => new WebhookDelivery(
            "whd_" + Ids.Random(12), eventName, approval.Id, url.ToString(), body, WebhookStatuses.Pending, 0, now, null, null, now, null)).ToList();
        return store.Webhooks.EnqueueAsync(deliveries, ct);
    }

    private sealed record WebhookMessage(string Text, string Event, Client.Contracts.ApprovalInfo Approval);
}
