using Npgsql;

namespace Writ.Storage.Tests;

/// <summary>The store contract on a real PostgreSQL server: a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreTests(PostgresServer server) : StoreContractTests
{
    private string _native = "";

    protected override async Task<string> CreateDatabaseAsync()
    {
        _native = await server.CreateDatabaseAsync();
        return "postgres:" + _native;
    }

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var c = new NpgsqlConnection(_native);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Open_ManyReplicasAtOnce_MigrateOnce()
    {
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => OpenAsync()));
        Assert.All(stores, s => Assert.Equal("postgres", s.Engine));
        await using var c = new NpgsqlConnection(_native);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM schema_migrations", c);
        Assert.Equal((long)Migrator.ScriptsFor("Postgres").Count, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Audit_Append_KeepsHeadRowInStepWithEvents()
    {
        await Store.Audit.AppendAsync([new(new Writ.Core.Audit.AuditEvent(T0, "system", "writ", null, null, "server.start", null, null, null, null, "info", null, null, 0, null))], CancellationToken.None);
        var head = await Store.Audit.GetHeadAsync(CancellationToken.None);
        await using var c = new NpgsqlConnection(_native);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT seq, hash FROM audit_head WHERE id = 1", c);
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync());
        Assert.Equal((head!.Seq, head.Hash), (r.GetInt64(0), r.GetString(1)));
    }
}
