using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Storage.Postgres;

/// <summary>
/// PostgreSQL through one pooled <see cref="NpgsqlDataSource"/>. Several stateless server replicas may share
/// the database: writes that must not race take row locks (<c>FOR UPDATE</c>) or transaction-scoped advisory locks.
/// </summary>
internal sealed class PostgresEngine(NpgsqlDataSource dataSource) : Engine
{
    private static readonly string InsertEvents =
        $"INSERT INTO audit_events ({string.Join(", ", AuditSql.EventColumns)}) SELECT * FROM unnest(" +
        "$1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], " +
        "$10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::text[])";

    private static readonly string InsertCredentials =
        $"INSERT INTO credentials ({string.Join(", ", CredentialSql.Columns)}) SELECT * FROM unnest(" +
        "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[])";

    public override string Name => "postgres";

    public override string ForUpdate => " FOR UPDATE";

    public override string? SerializeSql(string lockName) => $"SELECT pg_advisory_xact_lock(hashtext('{lockName.Replace("'", "''", StringComparison.Ordinal)}'))";

    public override string NowMicrosSql => "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

    public NpgsqlDataSource DataSource => dataSource;

    public static PostgresEngine Open(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "writ";
        return new PostgresEngine(builder.Build());
    }

    public override async Task<DbConnection> OpenReadAsync(CancellationToken ct) =>
        await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);

    public override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var result = await work(connection, tx).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Three round trips per batch whatever its size: lock and read the head row (Npgsql sends BEGIN with it),
    /// one batch of array inserts plus the head update, COMMIT.
    /// </summary>
    public override async Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return [];
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var records = await AppendAuditAsync(connection, tx, batch, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return records;
    }

    protected override async Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(DbConnection c, DbTransaction t, IReadOnlyList<AuditAppend> batch, CancellationToken ct)
    {
        if (batch.Count == 0) return [];
        var connection = (NpgsqlConnection)c;
        var tx = (NpgsqlTransaction)t;
        long headSeq;
        string headHash;
        await using (var head = new NpgsqlCommand("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE", connection, tx))
        await using (var reader = await head.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(ct).ConfigureAwait(false)) throw new InvalidOperationException("The audit_head row is missing; the database was not migrated by Writ.");
            headSeq = reader.GetInt64(0);
            headHash = reader.GetString(1);
        }

        var records = LinkBatch(batch, headSeq, headHash);
        await using var commands = new NpgsqlBatch(connection, tx);
        commands.BatchCommands.Add(Columnar(InsertEvents, AuditSql.EventColumns.Length, records.Select(AuditSql.EventValues).ToList(),
            [Long, Long, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Text, Long, Long, Text, Text, Text]));

        var credentials = batch.Where(b => b.Credential is not null).Select(b => CredentialSql.Values(b.Credential!)).ToList();
        if (credentials.Count > 0)
        {
            commands.BatchCommands.Add(Columnar(InsertCredentials, CredentialSql.Columns.Length, credentials,
                [Text, Text, Text, Text, Text, Text, Text, Text, Long, Long, Long]));
        }

        var last = records[^1];
        var update = new NpgsqlBatchCommand("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1");
        update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last.Seq });
        update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = last.Hash });
        commands.BatchCommands.Add(update);

        await commands.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return records;
    }

    private const NpgsqlDbType Long = NpgsqlDbType.Bigint;
    private const NpgsqlDbType Text = NpgsqlDbType.Text;

    /// <summary>One INSERT … SELECT FROM unnest(arrays) statement: one array parameter per column.</summary>
    private static NpgsqlBatchCommand Columnar(string sql, int columns, List<object?[]> rows, NpgsqlDbType[] types)
    {
        var command = new NpgsqlBatchCommand(sql);
        for (var c = 0; c < columns; c++)
        {
            Array values = types[c] == Long ? new long?[rows.Count] : new string?[rows.Count];
            for (var r = 0; r < rows.Count; r++) values.SetValue(rows[r][c], r);
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | types[c], Value = values });
        }
        return command;
    }

    public override bool IsUniqueViolation(Exception ex) =>
        ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public override ValueTask DisposeAsync() => dataSource.DisposeAsync();
}
