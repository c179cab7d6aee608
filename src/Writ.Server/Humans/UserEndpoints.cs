using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Humans;
using Writ.Core.Storage;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Humans;

/// <summary>
/// Human operators: <c>/api/users</c> (admins add, list, disable), <c>/api/login</c> (password → 8-hour session,
/// lockout after repeated failures), <c>/api/logout</c>, <c>/api/whoami</c>. Every change and every login attempt
/// is audited with actor kind <c>human</c> before it takes effect.
/// </summary>
internal static class UserEndpoints
{
    public static IEndpointRouteBuilder MapUsers(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users").RequireHuman(HumanRoles.Admin);
        users.MapPost("", AddAsync);
        users.MapGet("", async (IWritStore store, CancellationToken ct) => Results.Json((await store.Users.ListAsync(ct)).Select(ToInfo).ToList(), WritJson.Options));
        users.MapGet("/{name}", async (string name, IWritStore store, CancellationToken ct) =>
            await store.Users.GetAsync(name, ct) is { } user ? Results.Json(ToInfo(user), WritJson.Options) : NotFound(name));
        users.MapPost("/{name}/disable", DisableAsync);

        app.MapPost("/api/login", (HttpContext http, IWritStore store, PasswordCheck passwords, AuditLog audit, TimeProvider clock) => LoginAsync(http, store, passwords, audit, clock));
        app.MapPost("/api/logout", LogoutAsync).RequireHuman(HumanRoles.All.ToArray());
        app.MapGet("/api/whoami", (HttpContext http) =>
        {
            var caller = Caller.Of(http);
            return Results.Json(new WhoAmI(caller.ActorKind, caller.ActorId, caller.Roles), WritJson.Options);
        }).RequireHuman(HumanRoles.All.ToArray());
        return app;
    }

    private static async Task<IResult> AddAsync(HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var body = await RequestBody.ReadJsonAsync<AddUserRequest>(http.Request);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var request = body.Value;
        if (!UserNames.IsValid(request.Name))
            return Problems.BadRequest("user.invalid_name", "a user name is 1-128 lower-case letters, digits, '.', '_', '-', '+' or '@' (e.g. an e-mail address), starting with a letter or digit");
        var roles = (request.Roles ?? []).Distinct(StringComparer.Ordinal).ToArray();
        if (roles.Length == 0 || roles.Any(r => !HumanRoles.IsKnown(r)))
            return Problems.BadRequest("user.invalid_role", $"give the user one or more roles: {string.Join(", ", HumanRoles.All)}");
        if (PasswordHashing.Problem(request.Password) is { } weak) return Problems.BadRequest("user.weak_password", weak);
        if (await store.Users.GetAsync(request.Name, ct) is not null)
            return Problems.Of(409, "user.conflict", $"there is already a user named {request.Name}");

        var now = clock.GetUtcNow();
        var user = new User(request.Name, roles, UserStatuses.Active, PasswordHashing.Hash(request.Password), 0, null, now, null);
        var caller = Caller.Of(http);
        await audit.RecordAsync(Event(now, caller, "user.add", Decisions.Info, null, new() { ["user"] = user.Name, ["roles"] = string.Join(",", roles) }), null, ct);
        var added = await store.Users.AddAsync(user, ct);
        if (!added.IsSuccess) return Problems.Of(409, "user.conflict", added.Error!.Message);
        return Results.Json(ToInfo(user), WritJson.Options, statusCode: 201);
    }

    private static async Task<IResult> DisableAsync(string name, HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        if (await store.Users.GetAsync(name, ct) is null) return NotFound(name);
        var now = clock.GetUtcNow();
        await audit.RecordAsync(Event(now, Caller.Of(http), "user.disable", Decisions.Info, null, new() { ["user"] = name }), null, ct);
        await store.Users.DisableAsync(name, now, ct);
        return Results.Json(ToInfo((await store.Users.GetAsync(name, ct))!), WritJson.Options);
    }

    private static async Task<IResult> LoginAsync(HttpContext http, IWritStore store, PasswordCheck passwords, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var body = await RequestBody.ReadJsonAsync<LoginRequest>(http.Request, 8 * 1024);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var (name, password) = (body.Value.User, body.Value.Password);
        if (!UserNames.IsValid(name) || password is null || password.Length > LoginRules.MaxPasswordLength)
            return Problems.BadRequest("auth.invalid_request", "send {\"user\": NAME, \"password\": PASSWORD}");

        var now = clock.GetUtcNow();
        var (outcome, user) = await passwords.CheckAsync(name, password, ct);
        switch (outcome)
        {
            case PasswordOutcome.UnknownUser:
                await audit.RecordAsync(Refused(now, "claimed:" + name, ActorKinds.Unknown, "auth.invalid_credentials"), null, ct);
                return InvalidCredentials();
            case PasswordOutcome.Locked:
                await audit.RecordAsync(Refused(now, user!.Name, ActorKinds.Human, "auth.locked"), null, ct);
                return Locked(user.LockedUntil!.Value, now);
            case PasswordOutcome.WrongAndLocked:
                await audit.RecordAsync(Refused(now, user!.Name, ActorKinds.Human, "auth.locked_out"), null, ct);
                return Locked(user.LockedUntil!.Value, now);
            case PasswordOutcome.Wrong:
                await audit.RecordAsync(Refused(now, user!.Name, ActorKinds.Human, "auth.invalid_credentials"), null, ct);
                return InvalidCredentials();
        }
        if (!user!.IsActive)
        {
            await audit.RecordAsync(Refused(now, user.Name, ActorKinds.Human, "auth.user_disabled"), null, ct);
            return Problems.Of(403, "auth.user_disabled", $"user {user.Name} is disabled");
        }

        var token = HumanAuthentication.SessionTokenPrefix + Ids.Random(32);
        var session = new UserSession(Ids.Sha256Hex(token), user.Name, now, now + LoginRules.SessionLifetime, null);
        await audit.RecordAsync(new AuditEvent(now, ActorKinds.Human, user.Name, null, null, "user.login", null, null, null, null, Decisions.Allow, "auth.session_created", null, 0, null), null, ct);
        await store.Users.AddSessionAsync(session, ct);
        return Results.Json(new LoginResponse(token, user.Name, user.Roles, session.ExpiresAt), WritJson.Options);
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var caller = Caller.Of(http);
        if (caller.SessionHash is null)
            return Problems.BadRequest("auth.not_a_session", "the bootstrap admin token is not a session; forget it with `writ logout --local` or reset it with --reset-admin-token");
        var now = clock.GetUtcNow();
        await audit.RecordAsync(Event(now, caller, "user.logout", Decisions.Info, null, new()), null, http.RequestAborted);
        await store.Users.RevokeSessionAsync(caller.SessionHash, now, http.RequestAborted);
        return Results.NoContent();
    }

    private static AuditEvent Refused(DateTimeOffset now, string actor, string actorKind, string code) =>
        new(now, actorKind, actor, null, null, "user.login", null, null, null, null, Decisions.Deny, code, null, 0, null);

    private static AuditEvent Event(DateTimeOffset now, Caller caller, string action, string decision, string? reason, Dictionary<string, object?> details) =>
        new(now, caller.ActorKind, caller.ActorId, null, null, action, null, null, null, null, decision, reason, null, 0, AuditDetails.Of(details));

    private static IResult InvalidCredentials() => Problems.Of(401, "auth.invalid_credentials", "wrong user name or password");

    internal static IResult Locked(DateTimeOffset until, DateTimeOffset now)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling((until - now).TotalSeconds));
        return new HeaderResult(Problems.Of(429, "auth.locked",
            $"too many failed logins: this account is locked for {seconds / 60 + 1} more minute(s)"), "Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static IResult NotFound(string name) => Problems.Of(404, "user.not_found", $"no user {Agents.AgentEndpoints.Bounded(name)}");

    internal static UserInfo ToInfo(User u) => new(u.Name, u.Roles, u.Status, u.CreatedAt, u.DisabledAt, u.LockedUntil);

    private sealed class HeaderResult(IResult inner, string header, string value) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[header] = value;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
