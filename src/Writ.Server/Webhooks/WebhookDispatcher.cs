using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Writ.Core.Storage;
using Writ.Server.Hosting;

namespace Writ.Server.Webhooks;

/// <summary>
/// Sends the webhook outbox: each message is POSTed with <c>X-Writ-Timestamp</c> and
/// <c>X-Writ-Signature: v1=HEX(HMAC-SHA256(key, TIMESTAMP + "." + BODY))</c> (the timestamp lets receivers refuse
/// replays), retried with exponential backoff on failure, and every attempt is recorded in the delivery log.
/// </summary>
internal sealed class WebhookDispatcher(IWritStore store, WebhookSettings settings, TimeProvider clock, ILogger<WebhookDispatcher> logger)
    : PeriodicJob(clock, logger)
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = settings.Timeout,
    };

    protected override TimeSpan Interval => settings.PollInterval;

    protected override bool Enabled => settings.Urls.Count > 0;

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        foreach (var delivery in await store.Webhooks.DueAsync(Clock.GetUtcNow(), 50, ct))
        {
            var (ok, status, error) = await SendAsync(delivery, ct);
            var now = Clock.GetUtcNow();
            var attempts = delivery.Attempts + 1;
            DateTimeOffset? retryAt = ok || attempts >= settings.MaxAttempts ? null : now + settings.RetryDelay(attempts);
            await store.Webhooks.RecordAttemptAsync(delivery.Id, ok, status, error, now, retryAt, ct);
        }
    }

    private async Task<(bool Ok, int? Status, string? Error)> SendAsync(WebhookDelivery delivery, CancellationToken ct)
    {
        var timestamp = Clock.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(delivery.Body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add("X-Writ-Event", delivery.Event);
        request.Headers.Add("X-Writ-Delivery", delivery.Id);
        request.Headers.Add("X-Writ-Timestamp", timestamp);
        request.Headers.Add("X-Writ-Signature", "v1=" + Sign(settings.SigningKey, timestamp, delivery.Body));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            return (status is >= 200 and < 300, status, status is >= 200 and < 300 ? null : $"HTTP {status}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (false, null, e is TaskCanceledException ? $"timed out after {settings.Timeout.TotalSeconds:0}s" : e.Message);
        }
    }

    /// <summary>The signature receivers recompute: lower-case hex HMAC-SHA256 over <c>timestamp "." body</c>.</summary>
    public static string Sign(byte[] key, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(timestamp + "." + body)));

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
