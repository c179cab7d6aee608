using Writ.Core.Audit;
using Writ.Core.Credentials;
using Writ.Core.Storage;

namespace Writ.Server.Hosting;

/// <summary>
/// Appends audit events through the group-committing <see cref="AuditWriter"/>. Awaiting the returned
/// task means the event is durable; any failure surfaces as <see cref="AuditUnavailableException"/>, which
/// the error handler answers with 503 so nothing leaves unaudited.
/// </summary>
internal sealed class AuditLog(AuditWriter writer, ILogger<AuditLog> logger)
{
    /// <summary>
    /// Queues a record that must not hold up the response: only for the outcome of something whose decision is
    /// already durable (a gateway call's upstream status and bytes). It is committed with the next batch; a failure
    /// is logged (the next durable append fails too, so the server then refuses work: still fail closed).
    /// </summary>
    public void Defer(AuditEvent e)
    {
        try
        {
            writer.DeferAsync(new AuditAppend(e)).ContinueWith(
                static (t, state) => AuditLogMessages.DeferredAuditFailed((ILogger)state!, t.Exception!.GetBaseException()),
                logger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (ObjectDisposedException ex)
        {
            AuditLogMessages.DeferredAuditFailed(logger, ex);
        }
    }

    /// <summary>Waits until every record queued so far is committed, so a reader of the log sees deferred outcomes too.</summary>
    public Task FlushAsync(CancellationToken ct) => writer.FlushAsync(ct);

    /// <summary>Several records in one go (a standalone gateway's batch): committed together, in order.</summary>
    public Task<AuditRecord[]> RecordAllAsync(IReadOnlyList<AuditEvent> events, CancellationToken ct) =>
        FailClosedAsync(() => writer.AppendAllAsync(events.Select(e => new AuditAppend(e)).ToList(), ct), ct);

    public Task<AuditRecord> RecordAsync(AuditEvent e, IssuedCredential? credential = null, CancellationToken ct = default, ProofUse? proof = null) =>
        FailClosedAsync(() => writer.AppendAsync(new AuditAppend(e, credential, proof), ct), ct);

    /// <summary>Any failure to append, except the caller giving up, is the audit log being unavailable.</summary>
    private static async Task<T> FailClosedAsync<T>(Func<Task<T>> append, CancellationToken ct)
    {
        try
        {
            return await append();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw new AuditUnavailableException(ex);
        }
    }
}

internal static partial class AuditLogMessages
{
    [LoggerMessage(EventId = 1040, Level = LogLevel.Critical, Message = "A deferred audit record (a gateway call's outcome) could not be written")]
    public static partial void DeferredAuditFailed(ILogger logger, Exception exception);
}
