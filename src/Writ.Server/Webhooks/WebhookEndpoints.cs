using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Humans;
using Writ.Core.Storage;
using Writ.Server.Auth;

namespace Writ.Server.Webhooks;

/// <summary><c>GET /api/webhooks/deliveries</c>: the delivery log (what was sent where, how many attempts, the last answer). Bodies stay server-side.</summary>
internal static class WebhookEndpoints
{
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/webhooks/deliveries", async (int? limit, IWritStore store, CancellationToken ct) =>
            Results.Json((await store.Webhooks.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), ct)).Select(d => new WebhookDeliveryInfo(
                d.Id, d.Event, d.Subject, Origin(d.Url), d.Status, d.Attempts, d.LastStatus, d.LastError, d.CreatedAt, d.DeliveredAt, d.NextAttemptAt)).ToList(),
                WritJson.Options))
            .RequireHuman(HumanRoles.Admin, HumanRoles.Auditor);
        return app;
    }

    /// <summary>Scheme and host only: a webhook URL's path is often its secret (a Slack incoming webhook is).</summary>
    private static string Origin(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.GetLeftPart(UriPartial.Authority) + "/…" : "(invalid URL)";
}
