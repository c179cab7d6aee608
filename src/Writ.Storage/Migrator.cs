using System.Data.Common;
using System.Globalization;
using System.Reflection;
using Dapper;

namespace Writ.Storage;

/// <summary>
/// Applies the numbered scripts embedded under <c>Migrations/&lt;Engine&gt;/NNNN_name.sql</c> in order, each recorded
/// in <c>schema_migrations</c>, all inside one write transaction: a failed script leaves the schema as it was.
/// On PostgreSQL the transaction first takes an advisory lock, so replicas starting together migrate one at a time.
/// </summary>
internal static class Migrator
{
    /// <summary>Arbitrary, fixed: the advisory lock key Writ's migrations take on PostgreSQL.</summary>
    private const long PostgresLockKey = 0x5772_6974_4D69_6772; // "WritMigr"

    public sealed record Script(int Version, string Name, string Sql);

    public static IReadOnlyList<Script> ScriptsFor(string folder)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = $"Migrations/{folder}/";
        var scripts = new List<Script>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var name = resource.Replace('\\', '/');
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var file = name[prefix.Length..];
            var underscore = file.IndexOf('_');
            if (underscore <= 0 || !int.TryParse(file.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration script '{name}' must be named NNNN_description.sql.");
            }
            scripts.Add(new Script(version, file[..^4], Read(assembly, resource)));
        }
        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < scripts.Count; i++)
        {
            if (scripts[i].Version == scripts[i - 1].Version) throw new InvalidOperationException($"Two migration scripts have number {scripts[i].Version} in {folder}.");
        }
        if (scripts.Count == 0) throw new InvalidOperationException($"No migration scripts are embedded for {folder}.");
        return scripts;
    }

    public static Task MigrateAsync(Engine engine, string folder, CancellationToken ct)
    {
        var scripts = ScriptsFor(folder);
        return engine.WriteAsync(async (connection, tx) =>
        {
            if (engine is Postgres.PostgresEngine)
            {
                await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = PostgresLockKey }, tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
            var applied = (await connection.QueryAsync<long>(new CommandDefinition("SELECT version FROM schema_migrations", transaction: tx, cancellationToken: ct)).ConfigureAwait(false))
                .ToHashSet();
            var known = scripts.Select(s => (long)s.Version).ToHashSet();
            var unknown = applied.Where(v => !known.Contains(v)).ToList();
            if (unknown.Count > 0)
            {
                throw new InvalidOperationException(
                    $"The database has schema version(s) {string.Join(", ", unknown.Order())} that this Writ does not know: it was migrated by a newer release. Upgrade Writ.");
            }
            foreach (var script in scripts)
            {
                if (applied.Contains(script.Version)) continue;
                try
                {
                    await connection.ExecuteAsync(new CommandDefinition(script.Sql, transaction: tx, cancellationToken: ct)).ConfigureAwait(false);
                }
                catch (DbException ex)
                {
                    throw new InvalidOperationException($"Migration {folder}/{script.Name} failed: {ex.Message}", ex);
                }
                await connection.ExecuteAsync(new CommandDefinition(
                    $"INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, {engine.NowMicrosSql})",
                    new { version = (long)script.Version, name = script.Name }, tx, cancellationToken: ct)).ConfigureAwait(false);
            }
            return 0;
        }, ct);
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"Missing resource {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
