using Microsoft.Data.Sqlite;

namespace Writ.Storage.Tests;

/// <summary>The store contract on SQLite: a fresh database file per test.</summary>
public sealed class SqliteStoreTests : StoreContractTests, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("writ-sqlite-").FullName;

    private string DbPath => Path.Combine(_dir, "writ.db");

    protected override Task<string> CreateDatabaseAsync() => Task.FromResult("sqlite:" + DbPath);

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Open_Sqlite_UsesWalAndFullSync()
    {
        await using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync());
        Assert.Equal("sqlite", Store.Engine);
    }

    [Fact]
    public async Task Open_Sqlite_WriterSyncsFullyWithForeignKeys()
    {
        var engine = ((Stores.WritStore)Store).Database;
        var (synchronous, foreignKeys, journal) = await engine.WriteAsync(async (c, tx) =>
        {
            await using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "PRAGMA synchronous";
            var s = (long)(await cmd.ExecuteScalarAsync())!;
            cmd.CommandText = "PRAGMA foreign_keys";
            var f = (long)(await cmd.ExecuteScalarAsync())!;
            cmd.CommandText = "PRAGMA journal_mode";
            var j = (string)(await cmd.ExecuteScalarAsync())!;
            return (s, f, j);
        }, CancellationToken.None);
        Assert.Equal((2L, 1L, "wal"), (synchronous, foreignKeys, journal)); // 2 = FULL
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A pooled connection may still hold the file for a moment; the OS temp dir is cleaned eventually.
        }
    }
}
