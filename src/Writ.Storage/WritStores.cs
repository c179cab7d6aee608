using Microsoft.Data.Sqlite;
using Npgsql;
using Writ.Core.Storage;
using Writ.Storage.Postgres;
using Writ.Storage.Sqlite;
using Writ.Storage.Stores;

namespace Writ.Storage;

/// <summary>Opens the store named by a Writ connection string and brings its schema up to date (see docs/storage.md).</summary>
public static class WritStores
{
    private const string Accepted =
        "Use 'sqlite:<path>' (e.g. sqlite:/var/lib/writ/writ.db), 'Data Source=<path>', " +
        "'postgres:<Npgsql connection string>' (e.g. postgres:Host=db;Database=writ;Username=writ), 'Host=…;Database=…' " +
        "or a 'postgres://user:password@host:5432/database' URL.";

    /// <summary>Which engine a connection string names, and the engine's own connection string.</summary>
    internal enum Kind { Sqlite, Postgres }

    /// <summary>
    /// Opens SQLite or PostgreSQL, applies pending migrations (in one transaction; on PostgreSQL under an advisory
    /// lock so replicas starting together do not race) and returns the stores.
    /// </summary>
    /// <exception cref="ArgumentException">The string names no supported engine. The message never repeats the string, which may hold a password.</exception>
    public static async Task<IWritStore> Open(string connectionString, CancellationToken ct)
    {
        var (kind, native) = Parse(connectionString);
        Engine engine = kind switch
        {
            Kind.Sqlite => await SqliteEngine.OpenAsync(native, ct).ConfigureAwait(false),
            _ => PostgresEngine.Open(native),
        };
        try
        {
            await Migrator.MigrateAsync(engine, kind == Kind.Sqlite ? "Sqlite" : "Postgres", ct).ConfigureAwait(false);
            return new WritStore(engine);
        }
        catch
        {
            await engine.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static (Kind Kind, string Native) Parse(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) throw new ArgumentException("The storage connection string is empty. " + Accepted, nameof(connectionString));
        var s = connectionString.Trim();

        if (TryStrip(s, "sqlite:", out var rest))
        {
            if (rest.Length == 0) throw new ArgumentException("'sqlite:' needs a file path. " + Accepted, nameof(connectionString));
            // sqlite:Data Source=… passes Microsoft.Data.Sqlite keywords through; anything else is the file path.
            return (Kind.Sqlite, LooksLikeKeywords(rest) ? SqliteKeywords(rest) : new SqliteConnectionStringBuilder { DataSource = rest }.ToString());
        }
        if (TryStrip(s, "postgres://", out _) || TryStrip(s, "postgresql://", out _)) return (Kind.Postgres, FromUrl(s));
        if (TryStrip(s, "postgres:", out rest) || TryStrip(s, "postgresql:", out rest)) return (Kind.Postgres, PostgresKeywords(rest));

        if (LooksLikeKeywords(s))
        {
            var keys = s.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => p.Split('=', 2)[0].Trim().ToLowerInvariant().Replace(" ", "", StringComparison.Ordinal))
                .ToHashSet();
            if (keys.Contains("host") || keys.Contains("server")) return (Kind.Postgres, PostgresKeywords(s));
            if (keys.Contains("datasource") || keys.Contains("filename")) return (Kind.Sqlite, SqliteKeywords(s));
            throw new ArgumentException("The storage connection string names neither a SQLite file (Data Source=) nor a PostgreSQL host (Host=). " + Accepted, nameof(connectionString));
        }

        // A bare file path: /var/lib/writ/writ.db, ./writ.db, writ.sqlite.
        if (!s.Contains("://", StringComparison.Ordinal) && !s.Contains(';', StringComparison.Ordinal)
            && (Path.IsPathRooted(s) || s.StartsWith("./", StringComparison.Ordinal) || s.StartsWith("../", StringComparison.Ordinal)
                || s.EndsWith(".db", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".sqlite", StringComparison.OrdinalIgnoreCase)
                || s.EndsWith(".sqlite3", StringComparison.OrdinalIgnoreCase)))
        {
            return (Kind.Sqlite, new SqliteConnectionStringBuilder { DataSource = s }.ToString());
        }

        throw new ArgumentException("The storage connection string is not recognised. " + Accepted, nameof(connectionString));
    }

    private static bool TryStrip(string s, string prefix, out string rest)
    {
        if (s.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            rest = s[prefix.Length..].Trim();
            return true;
        }
        rest = "";
        return false;
    }

    private static bool LooksLikeKeywords(string s) => s.Contains('=', StringComparison.Ordinal) && !s.Contains("://", StringComparison.Ordinal);

    private static string SqliteKeywords(string s)
    {
        try
        {
            return new SqliteConnectionStringBuilder(s).ToString();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("The SQLite connection string is invalid: " + ex.Message + " " + Accepted, "connectionString");
        }
    }

    private static string PostgresKeywords(string s)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(s).ToString();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("The PostgreSQL connection string is invalid: " + ex.Message + " " + Accepted, "connectionString");
        }
    }

    /// <summary>postgres://user:password@host:port/database?sslmode=require → Npgsql keywords (libpq URL form, one host).</summary>
    private static string FromUrl(string s)
    {
        if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("The PostgreSQL URL is not valid (only one host is supported in URL form; use postgres:Host=a,b;… for several). " + Accepted, "connectionString");
        }
        var b = new NpgsqlConnectionStringBuilder { Host = uri.Host.Trim('[', ']') };
        if (uri.Port > 0) b.Port = uri.Port;
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length > 0) b.Database = database;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            try
            {
                b[key.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? "SSL Mode" : key] = value;
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"The PostgreSQL URL has an unknown option '{key}'. " + Accepted, "connectionString");
            }
        }
        return b.ToString();
    }
}
