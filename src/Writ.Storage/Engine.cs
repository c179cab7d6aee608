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
