using Writ.Core.Audit;
using Writ.Core.Credentials;
using Writ.Core.Storage;

namespace Writ.Server.Hosting;

/// <summary>The audit store could not make a record durable. The request that needed it fails (invariant 7).</summary>
internal sealed class AuditUnavailableException(Exception inner) : Exception("the audit log could not be written", inner);

/// <summary>
/// Appends audit events through the group-committing <see cref="AuditWriter"/>. Awaiting the returned
/// task means the event is durable; any failure surfaces as <see cref="AuditUnavailableException"/>, which
/// the error handler answers with 503 so nothing leaves unaudited.
/// </summary>
internal sealed class AuditLog(AuditWriter writer)
{
    public async Task<AuditRecord> RecordAsync(AuditEvent e, IssuedCredential? credential = null, CancellationToken ct = default)
    {
        try
        {
            return await writer.AppendAsync(new AuditAppend(e, credential), ct);
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
