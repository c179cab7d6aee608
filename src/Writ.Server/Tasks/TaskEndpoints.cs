using Writ.Core.Humans;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Core.Tasks;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.OAuth;

namespace Writ.Server.Tasks;

/// <summary>Tasks: agents open and complete their own; operators list them and can close any.</summary>
internal static class TaskEndpoints
{
    public static readonly TimeSpan DefaultTaskTtl = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxTaskTtl = TimeSpan.FromHours(8);

    public static IEndpointRouteBuilder MapTasks(this IEndpointRouteBuilder app)
    {
        var agent = app.MapGroup("/api/agent/tasks").RequireAgent();
        agent.MapPost("", StartAsync);
        agent.MapPost("/{id}/complete", (string id, HttpContext http, IWritStore store, TimeProvider clock) =>
        {
            var caller = AgentCaller.Of(http);
            return CompleteAsync(id, caller.Agent.Id, TokenEndpoint.ActorKindOf(caller.Agent), caller.Agent.Id, http, store, clock);
        });

        // What a credential grants, checked as a protected resource checks it: the smallest endpoint that
        // proves sender constraint end to end (a copied token without the key is refused here).
        app.MapGet("/api/agent/credential", async (HttpContext http, BoundTokenAuthenticator tokens) =>
        {
            var claims = await tokens.AuthenticateAsync(http, null);
            if (!claims.IsSuccess)
            {
                http.Response.Headers.WWWAuthenticate = $"DPoP error=\"invalid_token\", algs=\"ES256\"";
                await BearerCredential.AuditRefusalAsync(http, "credential.check", ActorKinds.Unknown, "unknown", claims.Error!.Code);
                return Problems.Of(claims.Error!, 401);
            }
            var c = claims.Value;
            return Results.Json(new { agent = c.Subject, resource = c.Audience, scope = c.Scope, environment = c.Environment, task = c.TaskId, target = c.Target, expires_at = c.ExpiresAt }, WritJson.Options);
        });

        var admin = app.MapGroup("/api/tasks").RequireHuman(HumanRoles.Admin);
        admin.MapGet("", async (string? agent, string? status, int? limit, IWritStore store, CancellationToken ct) =>
        {
            if (status is not null && status is not (TaskStatuses.Open or TaskStatuses.Completed or TaskStatuses.Expired))
                return Problems.BadRequest("request.invalid_status", "status must be open, completed or expired");
            var tasks = await store.Tasks.ListAsync(agent, status, Math.Clamp(limit ?? 100, 1, 1000), ct);
            return Results.Json(tasks.Select(ToInfo).ToList(), WritJson.Options);
        }).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        admin.MapPost("/{id}/complete", (string id, HttpContext http, IWritStore store, TimeProvider clock) =>
        {
            var caller = Caller.Of(http);
            return CompleteAsync(id, null, caller.ActorKind, caller.ActorId, http, store, clock);
        });
        return app;
    }

    private static async Task<IResult> StartAsync(HttpContext http, IWritStore store, TimeProvider clock)
    {
        var caller = AgentCaller.Of(http);
        var body = await RequestBody.ReadJsonAsync<StartTaskRequest>(http.Request);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var request = body.Value;
        if (string.IsNullOrWhiteSpace(request.Purpose) || request.Purpose.Length > 500)
            return Problems.BadRequest("task.invalid_purpose", "purpose is required: say in up to 500 characters what the task is for");
        if (request.Ticket is { Length: > 200 }) return Problems.BadRequest("task.invalid_ticket", "ticket must be at most 200 characters");
        if (request.OnBehalfOf is { } who && !Core.Humans.UserNames.IsPerson(who))
            return Problems.BadRequest("task.invalid_on_behalf_of",
                "on_behalf_of must name the human by user name or e-mail address (letters, digits, '.', '_', '-', '+', '@'; at most 128)");
        var ttl = request.TtlSeconds is { } s ? TimeSpan.FromSeconds(s) : DefaultTaskTtl;
        if (ttl <= TimeSpan.Zero || ttl > MaxTaskTtl)
            return Problems.BadRequest("task.invalid_ttl", $"ttl_seconds must be between 1 and {(int)MaxTaskTtl.TotalSeconds} (8 h)");

        var now = clock.GetUtcNow();
        var task = new WorkTask(Ids.New("task"), caller.Agent.Id, request.Purpose.Trim(), request.Ticket, request.OnBehalfOf, TaskStatuses.Open, now, now + ttl, null);
        // The task and the record of its opening commit together: no task exists that the log never saw open.
        await store.Tasks.CreateAsync(task, new AuditEvent(now, TokenEndpoint.ActorKindOf(caller.Agent), caller.Agent.Id, task.OnBehalfOf, task.Id, "task.open",
            null, caller.Agent.Environment, null, null, Decisions.Info, null, null, 0,
            System.Text.Json.JsonSerializer.Serialize(new { purpose = task.Purpose, ticket = task.Ticket, ttl = (int)ttl.TotalSeconds })), http.RequestAborted);
        return Results.Json(ToInfo(task), WritJson.Options, statusCode: 201);
    }

    /// <summary>Completing a task revokes every credential issued under it, in the same transaction.</summary>
    private static async Task<IResult> CompleteAsync(string id, string? requiredAgent, string actorKind, string actorId, HttpContext http, IWritStore store, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var task = await store.Tasks.GetAsync(id, ct);
        if (task is null || (requiredAgent is not null && task.AgentId != requiredAgent))
            return Problems.Of(404, "task.not_found", $"no task {Agents.AgentEndpoints.Bounded(id)}" + (requiredAgent is null ? "" : $" belongs to {requiredAgent}"));
        var now = clock.GetUtcNow();
        // The record commits with the change (a failed append rolls both back: 503, and the task stays open to retry).
        var completed = await store.Tasks.CompleteAsync(id, now, new AuditEvent(now, actorKind, actorId, task.OnBehalfOf, task.Id, "task.complete", null,
            Core.Agents.AgentId.EnvironmentOf(task.AgentId), null, null, Decisions.Info, null, null, 0, null), ct);
        if (!completed) return Problems.Of(409, "task.conflict", $"task {task.Id} is already {task.Status}");
        return Results.Json(ToInfo((await store.Tasks.GetAsync(id, ct))!), WritJson.Options);
    }

    public static TaskInfo ToInfo(WorkTask t) => new(t.Id, t.AgentId, t.Purpose, t.Ticket, t.OnBehalfOf, t.Status, t.CreatedAt, t.ExpiresAt, t.ClosedAt);
}

/// <summary>Expires tasks whose time is up (revoking their credentials) and audits each expiry.</summary>
internal sealed class TaskExpiryService(IWritStore store, TimeProvider clock, ILogger<TaskExpiryService> logger) : PeriodicJob(clock, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);

    public override async Task RunOnceAsync(CancellationToken ct)
    {
        var now = Clock.GetUtcNow();
        // Each expiry's record commits with it: if the log cannot take them, nothing expires and the next pass tries again.
        await store.Tasks.ExpireDueAsync(now, id => new AuditEvent(now, ActorKinds.System, "writ", null, id, "task.expire", null, null, null, null,
            Decisions.Info, null, null, 0, null), ct);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Audit checkpoint failed; will retry")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Critical, Message = "Audit append failed on {Method} {Path}: request refused (fail closed)")]
    public static partial void AuditFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "The gateway could not reach the Writ server on {Method} {Path}: request refused (fail closed)")]
    public static partial void ServerUnavailable(ILogger logger, string method, string path, Exception exception);
}
