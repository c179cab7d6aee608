namespace Writ.Server.Webhooks;

/// <summary>
/// Where approval notifications go and the key that signs them. Empty <see cref="Urls"/> means no webhooks.
/// Retries back off exponentially from <see cref="FirstRetry"/> and give up after <see cref="MaxAttempts"/>.
/// </summary>
public sealed class WebhookSettings
{
    public IReadOnlyList<Uri> Urls { get; init; } = [];

    /// <summary>The HMAC-SHA256 key; receivers verify <c>X-Writ-Signature</c> with it.</summary>
    public byte[] SigningKey { get; init; } = [];

    public int MaxAttempts { get; init; } = 8;

    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before attempt <paramref name="attempt"/>+1 (1-based attempts made so far): 2 s, 4 s, 8 s, … capped at 10 minutes.</summary>
    public TimeSpan RetryDelay(int attempt) =>
        TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks * (1L << Math.Min(attempt - 1, 20)), TimeSpan.FromMinutes(10).Ticks));
}
