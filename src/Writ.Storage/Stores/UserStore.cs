using System.Text.Json;
using Dapper;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Humans;
using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class UserStore(Engine engine) : IUserStore
{
    private const string Columns =
        "name AS Name, roles AS Roles, status AS Status, password_hash AS PasswordHash, failed_logins AS FailedLogins, " +
        "locked_until AS LockedUntil, created_at AS CreatedAt, disabled_at AS DisabledAt";

    public async Task<Result<User>> AddAsync(User user, CancellationToken ct)
    {
        try
        {
            await engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
                "INSERT INTO users (name, roles, status, password_hash, failed_logins, locked_until, created_at, disabled_at) " +
                "VALUES (@Name, @Roles, @Status, @PasswordHash, @FailedLogins, @LockedUntil, @CreatedAt, @DisabledAt)",
                new
                {
                    user.Name,
                    Roles = JsonSerializer.Serialize(user.Roles, StorageJson.Default.IReadOnlyListString),
                    user.Status,
                    user.PasswordHash,
                    FailedLogins = (long)user.FailedLogins,
                    LockedUntil = UnixMicros.FromOptional(user.LockedUntil),
                    CreatedAt = UnixMicros.From(user.CreatedAt),
                    DisabledAt = UnixMicros.FromOptional(user.DisabledAt),
                }, tx, cancellationToken: ct)), ct).ConfigureAwait(false);
            return user;
        }
        catch (Exception ex) when (engine.IsUniqueViolation(ex))
        {
            return new Error("user.exists", $"there is already a user named {user.Name}");
        }
    }

    public async Task<User?> GetAsync(string name, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            $"SELECT {Columns} FROM users WHERE name = @name", new { name }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToUser();
    }

    public async Task<IReadOnlyList<User>> ListAsync(CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var rows = await c.QueryAsync<UserRow>(new CommandDefinition($"SELECT {Columns} FROM users ORDER BY name", cancellationToken: ct)).ConfigureAwait(false);
        return rows.Select(r => r.ToUser()).ToList();
    }

    public Task<bool> DisableAsync(string name, DateTimeOffset now, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        return engine.WriteAsync(async (c, tx) =>
        {
            var found = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET status = @disabled, disabled_at = COALESCE(disabled_at, @at) WHERE name = @name",
                new { name, at, disabled = UserStatuses.Disabled }, tx, cancellationToken: ct)).ConfigureAwait(false);
            if (found == 0) return false;
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE user_sessions SET revoked_at = @at WHERE user_name = @name AND revoked_at IS NULL",
                new { name, at }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return true;
        }, ct);
    }

    public Task<LoginAttempt?> ClaimLoginAttemptAsync(string name, DateTimeOffset now, int threshold, TimeSpan lockout, CancellationToken ct)
    {
        var at = UnixMicros.From(now);
        var until = UnixMicros.From(now + lockout);
        return engine.WriteAsync(async (c, tx) =>
        {
            var claimed = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET " +
                "locked_until = CASE WHEN failed_logins + 1 >= @threshold THEN @until ELSE locked_until END, " +
                "failed_logins = CASE WHEN failed_logins + 1 >= @threshold THEN 0 ELSE failed_logins + 1 END " +
                "WHERE name = @name AND (locked_until IS NULL OR locked_until <= @at)",
                new { name, threshold = (long)threshold, until, at }, tx, cancellationToken: ct)).ConfigureAwait(false);
            var row = await c.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
                $"SELECT {Columns} FROM users WHERE name = @name", new { name }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return row is null ? null : new LoginAttempt(row.ToUser(), claimed == 1);
        }, ct);
    }

    public Task ClearLoginFailuresAsync(string name, CancellationToken ct) =>
        engine.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = @name", new { name }, tx, cancellationToken: ct)), ct);

    public Task AddSessionAsync(UserSession session, CancellationToken ct) =>
        engine.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = @UserName", new { session.UserName }, tx, cancellationToken: ct)).ConfigureAwait(false);
            return await c.ExecuteAsync(new CommandDefinition(
                "INSERT INTO user_sessions (token_hash, user_name, created_at, expires_at, revoked_at) VALUES (@TokenHash, @UserName, @CreatedAt, @ExpiresAt, NULL)",
                new { session.TokenHash, session.UserName, CreatedAt = UnixMicros.From(session.CreatedAt), ExpiresAt = UnixMicros.From(session.ExpiresAt) },
                tx, cancellationToken: ct)).ConfigureAwait(false);
        }, ct);

    public async Task<SessionHolder?> FindSessionAsync(string tokenHash, CancellationToken ct)
    {
        await using var c = await engine.OpenReadAsync(ct).ConfigureAwait(false);
        var row = await c.QuerySingleOrDefaultAsync<SessionRow>(new CommandDefinition(
            "SELECT s.token_hash AS TokenHash, s.created_at AS SessionCreatedAt, s.expires_at AS SessionExpiresAt, s.revoked_at AS SessionRevokedAt, " +
            "u.name AS Name, u.roles AS Roles, u.status AS Status, u.password_hash AS PasswordHash, u.failed_logins AS FailedLogins, " +
            "u.locked_until AS LockedUntil, u.created_at AS CreatedAt, u.disabled_at AS DisabledAt " +
            "FROM user_sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = @tokenHash",
            new { tokenHash }, cancellationToken: ct)).ConfigureAwait(false);
        if (row is null) return null;
        var session = new UserSession(row.TokenHash, row.Name, UnixMicros.ToTime(row.SessionCreatedAt), UnixMicros.ToTime(row.SessionExpiresAt), UnixMicros.ToOptionalTime(row.SessionRevokedAt));
        return new SessionHolder(session, row.ToUser());
    }

    public Task<bool> RevokeSessionAsync(string tokenHash, DateTimeOffset now, CancellationToken ct) =>
        engine.WriteAsync(async (c, tx) => await c.ExecuteAsync(new CommandDefinition(
            "UPDATE user_sessions SET revoked_at = @at WHERE token_hash = @tokenHash AND revoked_at IS NULL",
            new { tokenHash, at = UnixMicros.From(now) }, tx, cancellationToken: ct)).ConfigureAwait(false) > 0, ct);



    internal class UserRow
    {
        public string Name { get; set; } = "";
        public string Roles { get; set; } = "[]";
        public string Status { get; set; } = "";
        public string PasswordHash { get; set; } = "";
        public long FailedLogins { get; set; }
        public long? LockedUntil { get; set; }
        public long CreatedAt { get; set; }
        public long? DisabledAt { get; set; }

        public User ToUser() => new(Name, JsonSerializer.Deserialize(Roles, StorageJson.Default.IReadOnlyListString) ?? [], Status, PasswordHash,
            (int)FailedLogins, UnixMicros.ToOptionalTime(LockedUntil), UnixMicros.ToTime(CreatedAt), UnixMicros.ToOptionalTime(DisabledAt));
    }

    private sealed class SessionRow : UserRow
    {
        public string TokenHash { get; set; } = "";
        public long SessionCreatedAt { get; set; }
        public long SessionExpiresAt { get; set; }
        public long? SessionRevokedAt { get; set; }
    }
}
