namespace Writ.Server.Hosting;

/// <summary>
/// A background job that runs <see cref="RunOnceAsync"/> at once and then every <see cref="Interval"/>. A failed
/// pass is logged and retried at the next tick: a passing database hiccup must not stop expiry or delivery for good.
/// </summary>
internal abstract partial class PeriodicJob(TimeProvider clock, ILogger logger) : BackgroundService
{
    protected TimeProvider Clock { get; } = clock;

    protected abstract TimeSpan Interval { get; }

    /// <summary>False to not run at all (e.g. webhooks with no URL configured).</summary>
    protected virtual bool Enabled => true;

    /// <summary>One pass; public so tests can run it without waiting for the timer.</summary>
    public abstract Task RunOnceAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled) return;
        using var timer = new PeriodicTimer(Interval, Clock);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                PassFailed(logger, GetType().Name, e);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "{Job} pass failed; will retry")]
    private static partial void PassFailed(ILogger logger, string job, Exception exception);
}
