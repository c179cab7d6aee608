using Dapper;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class WebhookStore(Engine engine) : IWebhookStore
{
    private const string Columns =
        "id AS Id, event AS Event, subject AS Subject, url AS Url, body AS Body, status AS Status, attempts AS Attempts, " +
        "next_attempt_at AS NextAttemptAt, last_status AS LastStatus, last_error AS LastError, created_at AS CreatedAt, delivered_at AS DeliveredAt";

    public Task EnqueueAsync(IReadOnlyList<WebhookDelivery> deliveries, CancellationToken ct) =>
        engine.WriteAsync(async (c, tx) =>
        {
            foreach (var d in deliveries)
            {
                await c.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO webhook_deliveries (id, event, subject, url, body, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at) " +
                    "VALUES (@Id, @Event, @Subject, @Url, @Body, @Status, @Attempts, @NextAttemptAt, NULL, NULL, @CreatedAt, NULL)",
                    new
                    {
                        d.Id, d.Event, d.Subject, d.Url, d.Body, d.Status,
                        Attempts = (long)d.Attempts,
                        NextAttemptAt = UnixMicros.From(d.NextAttemptAt),
                        CreatedAt = UnixMicros.From(d.CreatedAt),
                    }, tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            return deliveries.Count;
        }, ct);

    public async Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM webhook_deliveries WHERE status = @pending AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @limit",
            new { pending = WebhookStatuses.Pending, now = UnixMicros.From(now), limit = (long)limit }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToDelivery()).ToList();
    }

    public Task RecordAttemptAsync(string id, bool delivered, int? httpStatus, string? error, DateTimeOffset now, DateTimeOffset? retryAt, CancellationToken ct)
    {
        var status = delivered ? WebhookStatuses.Delivered : retryAt is null ? WebhookStatuses.Failed : WebhookStatuses.Pending;
        return engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, last_status = @httpStatus, last_error = @error, " +
            "next_attempt_at = @next, delivered_at = @deliveredAt WHERE id = @id",
            new
            {
                id, status, error,
                httpStatus = (long?)httpStatus,
                next = UnixMicros.From(retryAt ?? now),
                deliveredAt = delivered ? UnixMicros.From(now) : (long?)null,
            }, tx, cancellationToken: ct)), ct);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListAsync(int limit, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM webhook_deliveries ORDER BY created_at DESC, id LIMIT @limit", new { limit = (long)limit }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToDelivery()).ToList();
    }

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Event { get; set; } = "";
        public string Subject { get; set; } = "";
        public string Url { get; set; } = "";
        public string Body { get; set; } = "";
        public string Status { get; set; } = "";
        public long Attempts { get; set; }
        public long NextAttemptAt { get; set; }
        public long? LastStatus { get; set; }
        public string? LastError { get; set; }
        public long CreatedAt { get; set; }
        public long? DeliveredAt { get; set; }

        public WebhookDelivery ToDelivery() => new(Id, Event, Subject, Url, Body, Status, (int)Attempts, UnixMicros.ToTime(NextAttemptAt),
            LastStatus is { } s ? (int)s : null, LastError, UnixMicros.ToTime(CreatedAt), UnixMicros.ToOptionalTime(DeliveredAt));
    }
}
