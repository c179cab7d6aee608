using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Sqlite;

/// <summary>
/// SQLite in WAL mode: one writer connection (writes serialised by a semaphore inside this process and by
/// BEGIN IMMEDIATE across processes), any number of pooled reader connections running concurrently.
/// <c>synchronous=FULL</c> makes every commit, and so every audit batch, survive a power loss.
/// </summary>
internal sealed class SqliteEngine : Engine
{
    private const int BusyTimeoutMs = 10_000;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private AuditStatements? _audit;

    private SqliteEngine(string connectionString, SqliteConnection writer)
    {
        _connectionString = connectionString;
        _writer = writer;
    }

    public override string Name => "sqlite";

    public override string ForUpdate => "";

    public override string? SerializeSql(string lockName) => null;

    public override string NowMicrosSql => "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)";

    public static async Task<SqliteEngine> OpenAsync(string connectionString, CancellationToken ct)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = BusyTimeoutMs / 1000,
        };
        if (string.IsNullOrWhiteSpace(builder.DataSource) || builder.DataSource == ":memory:")
        {
            throw new ArgumentException("SQLite needs a file path (e.g. sqlite:/var/lib/writ/writ.db); in-memory databases are not supported.");
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var cs = builder.ToString();
        var writer = new SqliteConnection(cs);
        try
        {
            await writer.OpenAsync(ct).ConfigureAwait(false);
            await ExecAsync(writer, $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", ct).ConfigureAwait(false);
            return new SqliteEngine(cs, writer);
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<DbConnection> OpenReadAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            // No per-open PRAGMA: readers in WAL mode are rarely busy, and Microsoft.Data.Sqlite retries
            // SQLITE_BUSY itself until the command timeout (DefaultTimeout). One statement less per read.
            await connection.OpenAsync(ct).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _writer.BeginTransaction(deferred: false);
            var result = await work(_writer, tx).ConfigureAwait(false);
            tx.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override async Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return [];
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var s = _audit ??= new AuditStatements(_writer);
            // A ROLLBACK that failed after an earlier failure left its transaction open: close it, or nothing commits again.
            if (_writer.Handle is { IsInvalid: false } open && raw.sqlite3_get_autocommit(open) == 0) s.Rollback.ExecuteNonQuery();
            // BEGIN IMMEDIATE takes the database write lock before the head is read: another process appending
            // to the same file waits (busy_timeout) instead of chaining onto a stale head.
            s.Begin.ExecuteNonQuery();
            try
            {
                var records = AppendLinked(s, batch);
                s.Commit.ExecuteNonQuery();
                return records;
            }
            catch
            {
                // A failed COMMIT can leave the transaction open (SQLITE_BUSY); a failed statement always does.
                if (_writer.Handle is { IsInvalid: false } handle && raw.sqlite3_get_autocommit(handle) == 0)
                {
                    try
                    {
                        s.Rollback.ExecuteNonQuery();
                    }
                    catch (SqliteException)
                    {
                        // The append's own failure is the one to report; the next BEGIN finds out about the connection.
                    }
                }
                throw;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Inside <see cref="WriteAsync{T}"/>, which holds the write lock and has a transaction open on the writer connection:
    /// the append's compiled statements join that transaction for this batch.
    /// </summary>
    protected override Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<AuditAppend> batch, CancellationToken ct)
    {
        if (!ReferenceEquals(connection, _writer)) throw new InvalidOperationException("An audit append joins only a write transaction of this engine's writer.");
        if (batch.Count == 0) return Task.FromResult<IReadOnlyList<AuditRecord>>([]);
        var s = _audit ??= new AuditStatements(_writer);
        s.Join((SqliteTransaction)tx);
        try
        {
            return Task.FromResult<IReadOnlyList<AuditRecord>>(AppendLinked(s, batch));
        }
        finally
        {
            s.Join(null);
        }
    }

    /// <summary>Reads the chain head, links the batch after it and inserts its events and credentials, in the open transaction.</summary>
    private static AuditRecord[] AppendLinked(AuditStatements s, IReadOnlyList<AuditAppend> batch)
    {
        long headSeq = 0;
        var headHash = AuditChain.GenesisHash;
        using (var reader = s.Head.ExecuteReader())
        {
            if (reader.Read())
            {
                headSeq = reader.GetInt64(0);
                headHash = reader.GetString(1);
            }
        }

        var records = LinkBatch(batch, headSeq, headHash);
        foreach (var r in records)
        {
            var values = AuditSql.EventValues(r);
            for (var i = 0; i < s.EventParameters.Length; i++) s.EventParameters[i].Value = values[i] ?? DBNull.Value;
            s.InsertEvent.ExecuteNonQuery();
        }
        foreach (var b in batch)
        {
            if (b.Credential is null) continue;
            var values = CredentialSql.Values(b.Credential);
            for (var i = 0; i < s.CredentialParameters.Length; i++) s.CredentialParameters[i].Value = values[i] ?? DBNull.Value;
            s.InsertCredential.ExecuteNonQuery();
        }

        return records;
    }

    /// <summary>
    /// The audit append's statements, compiled once on the writer connection: Microsoft.Data.Sqlite compiles a command's
    /// SQL on each new command, and the append runs for every batch on the single writer, where that compiling (the
    /// transaction's BEGIN and COMMIT included) was about half the time before the commit's fsync.
    /// The transaction is driven by these statements rather than <see cref="SqliteConnection.BeginTransaction()"/>,
    /// which compiles BEGIN and COMMIT anew each time; <see cref="WriteAsync{T}"/> still uses the API on the same
    /// connection, serialised with this by the write lock.
    /// </summary>
    private sealed class AuditStatements : IDisposable
    {
        public AuditStatements(SqliteConnection writer)
        {
            Begin = Prepared(writer, "BEGIN IMMEDIATE");
            Commit = Prepared(writer, "COMMIT");
            Rollback = Prepared(writer, "ROLLBACK");
            Head = Prepared(writer, AuditSql.SelectHead);
            InsertEvent = writer.CreateCommand();
            InsertEvent.CommandText = AuditSql.InsertEvent;
            EventParameters = AuditSql.EventColumns.Select(c => InsertEvent.Parameters.AddWithValue("@" + c, DBNull.Value)).ToArray();
            InsertEvent.Prepare();
            InsertCredential = writer.CreateCommand();
            InsertCredential.CommandText = CredentialSql.Insert;
            CredentialParameters = CredentialSql.Columns.Select(c => InsertCredential.Parameters.AddWithValue("@" + c, DBNull.Value)).ToArray();
            InsertCredential.Prepare();
            // CreateCommand hands a new command the connection's open transaction: made inside WriteAsync, these would
            // keep that transaction after it ended and refuse to run again. They start outside any; Join sets one.
            foreach (var command in new[] { Begin, Commit, Rollback, Head, InsertEvent, InsertCredential }) command.Transaction = null;
        }

        public SqliteCommand Begin { get; }
        public SqliteCommand Commit { get; }
        public SqliteCommand Rollback { get; }
        public SqliteCommand Head { get; }
        public SqliteCommand InsertEvent { get; }
        public SqliteParameter[] EventParameters { get; }
        public SqliteCommand InsertCredential { get; }
        public SqliteParameter[] CredentialParameters { get; }

        /// <summary>Makes the statements that read and write rows run in <paramref name="tx"/> (null: in the one they begin themselves).</summary>
        public void Join(SqliteTransaction? tx)
        {
            Head.Transaction = tx;
            InsertEvent.Transaction = tx;
            InsertCredential.Transaction = tx;
        }

        public void Dispose()
        {
            foreach (var command in new[] { Begin, Commit, Rollback, Head, InsertEvent, InsertCredential }) command.Dispose();
        }

        private static SqliteCommand Prepared(SqliteConnection writer, string sql)
        {
            var command = writer.CreateCommand();
            command.CommandText = sql;
            command.Prepare();
            return command;
        }
    }

    public override bool IsUniqueViolation(Exception ex) =>
        ex is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 1555 or 2067 };

    public override async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _audit?.Dispose();
            await _writer.DisposeAsync().ConfigureAwait(false);
            using var probe = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(probe);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static async Task ExecAsync(SqliteConnection connection, string sql, CancellationToken ct)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
