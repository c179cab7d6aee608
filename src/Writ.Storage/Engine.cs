using System.Data.Common;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage;

/// <summary>
/// What differs between SQLite and PostgreSQL: how connections and write transactions are obtained,
/// a few SQL fragments, and the audit append (the hot path, written natively for each engine).
/// Every other statement is shared by the stores and runs unchanged on both.
/// </summary>
internal abstract class Engine : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>
    /// Appended to a SELECT that reads a row the transaction is about to change. PostgreSQL locks the row;
    /// SQLite needs nothing, as its write transactions (BEGIN IMMEDIATE) already exclude every other writer.
    /// </summary>
    public abstract string ForUpdate { get; }

    /// <summary>A statement that serialises writers of one kind of row (e.g. numbering policy versions) for the rest of the transaction; null when writes are serialised anyway.</summary>
    public abstract string? SerializeSql(string lockName);

    /// <summary>The database server's clock as unix microseconds (only for bookkeeping such as <c>schema_migrations</c>; domain times come from callers).</summary>
    public abstract string NowMicrosSql { get; }

    /// <summary>A connection for reading; dispose it when done.</summary>
    public abstract Task<DbConnection> OpenReadAsync(CancellationToken ct);

    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it; rolls back if it throws.</summary>
    public abstract Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct);

    /// <inheritdoc cref="IAuditStore.AppendAsync"/>
    public abstract Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct);

    /// <summary>
    /// Appends a batch inside a write transaction <see cref="WriteAsync{T}"/> opened (same head lock, same chaining as
    /// <see cref="AppendAuditAsync(IReadOnlyList{AuditAppend}, CancellationToken)"/>), so it commits or rolls back with
    /// that transaction's other writes.
    /// </summary>
    protected abstract Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<AuditAppend> batch, CancellationToken ct);

    /// <summary>
    /// Runs <paramref name="work"/> and appends the audit record <paramref name="audit"/> makes of its result in the same
    /// transaction: the change and its record are durable together or not at all (invariant 7), for writes whose record
    /// names what only the write knows (a version number, the agent an enrollment code was for). When
    /// <paramref name="audit"/> returns null (the work refused and wrote nothing) nothing is appended; the caller audits
    /// the refusal itself. A failed append throws <see cref="AuditUnavailableException"/>; the commit failing throws what it threw.
    /// </summary>
    public Task<T> WriteAuditedAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, Func<T, AuditEvent?> audit, CancellationToken ct) =>
        WriteAuditedAllAsync(work, result => audit(result) is { } record ? [record] : [], ct);

    /// <summary>As <see cref="WriteAuditedAsync{T}"/>, for a write that makes several records (one per task it expired).</summary>
    public Task<T> WriteAuditedAllAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, Func<T, IReadOnlyList<AuditEvent>> audit, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
        {
            var result = await work(c, tx).ConfigureAwait(false);
            var records = audit(result);
            if (records.Count == 0) return result;
            try
            {
                await AppendAuditAsync(c, tx, records.Select(r => new AuditAppend(r)).ToList(), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Rolls the transaction back with the change: the caller answers as for any audit failure.
                throw new AuditUnavailableException(ex);
            }
            return result;
        }, ct);

    public abstract bool IsUniqueViolation(Exception ex);

    public abstract ValueTask DisposeAsync();

    /// <summary>Chains a batch after the head <paramref name="seq"/>/<paramref name="hash"/>.</summary>
    protected static AuditRecord[] LinkBatch(IReadOnlyList<AuditAppend> batch, long seq, string hash)
    {
        var records = new AuditRecord[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var record = AuditChain.Link(seq + 1 + i, hash, batch[i].Event);
            records[i] = record;
            hash = record.Hash;
        }
        return records;
    }
}
