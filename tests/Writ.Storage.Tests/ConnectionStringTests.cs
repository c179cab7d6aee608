namespace Writ.Storage.Tests;

public sealed class ConnectionStringTests
{
    [Theory]
    [InlineData("sqlite:/var/lib/writ/writ.db", "Data Source=/var/lib/writ/writ.db")]
    [InlineData("sqlite:./writ.db", "Data Source=./writ.db")]
    [InlineData("Data Source=/tmp/w.db", "Data Source=/tmp/w.db")]
    [InlineData("/tmp/w.db", "Data Source=/tmp/w.db")]
    [InlineData("writ.sqlite", "Data Source=writ.sqlite")]
    public void Parse_SqliteForms_OpenSqlite(string input, string expected)
    {
        var (kind, native) = WritStores.Parse(input);
        Assert.Equal(WritStores.Kind.Sqlite, kind);
        Assert.Equal(expected, native);
    }

    [Theory]
    [InlineData("postgres:Host=db;Database=writ;Username=writ")]
    [InlineData("Host=db;Database=writ;Username=writ")]
    [InlineData("postgres://writ@db/writ")]
    [InlineData("postgresql://writ@db:5432/writ")]
    public void Parse_PostgresForms_OpenPostgres(string input)
    {
        var (kind, native) = WritStores.Parse(input);
        Assert.Equal(WritStores.Kind.Postgres, kind);
        Assert.Contains("Host=db", native);
        Assert.Contains("Database=writ", native);
        Assert.Contains("Username=writ", native);
    }

    [Fact]
    public void Parse_PostgresUrl_CarriesPasswordPortAndOptions()
    {
        var (_, native) = WritStores.Parse("postgres://writ:p%40ss@db.internal:6543/writ_prod?sslmode=require");
        var b = new Npgsql.NpgsqlConnectionStringBuilder(native);
        Assert.Equal(("db.internal", 6543, "writ", "p@ss", "writ_prod", Npgsql.SslMode.Require), (b.Host, b.Port, b.Username, b.Password, b.Database, b.SslMode));
    }

    [Theory]
    [InlineData("")]
    [InlineData("mysql://root:hunter2@db/writ")]
    [InlineData("Server=db;Uid=root;Pwd=hunter2;Flavor=mysql")]
    [InlineData("User=root;Password=hunter2")]
    [InlineData("writ")]
    public void Parse_Unsupported_ThrowsClearErrorWithoutEchoingSecrets(string input)
    {
        var ex = Assert.Throws<ArgumentException>(() => WritStores.Parse(input));
        Assert.Contains("sqlite:", ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }

    [Fact]
    public async Task Open_InMemorySqlite_IsRefused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => WritStores.Open("Data Source=:memory:", CancellationToken.None));
        Assert.Contains("file path", ex.Message);
    }
}
