using Writ.Core.Humans;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Credentials;
using Writ.Core.Storage;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Agents;

/// <summary>The inventory (admin) and enrollment (agent with a one-time code).</summary>
internal static class AgentEndpoints
{
    /// <summary>Enrollment codes are single use and live 15 minutes.</summary>
    public static readonly TimeSpan EnrollmentCodeLifetime = TimeSpan.FromMinutes(15);

    public static IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/agents").RequireHuman(HumanRoles.Admin);
        admin.MapGet("", ListAsync).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        admin.MapGet("/{id}", GetAsync).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        admin.MapPost("/{id}/suspend", (string id, HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock) =>
            SetStatusAsync(id, AgentStatuses.Suspended, http, store, audit, clock));
        admin.MapPost("/{id}/resume", (string id, HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock) =>
            SetStatusAsync(id, AgentStatuses.Active, http, store, audit, clock));
        admin.MapPost("/{id}/enrollment-codes", CreateEnrollmentCodeAsync);

        app.MapPost("/api/enroll", EnrollAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(IWritStore store, TimeProvider clock, CancellationToken ct)
    {
        var agents = await store.Agents.ListAsync(ct);
        var counts = await store.Credentials.CountActiveByAgentAsync(clock.GetUtcNow(), ct);
        var result = new List<AgentInfo>(agents.Count);
        foreach (var a in agents)
        {
            var keys = await store.Agents.ListKeysAsync(a.Id, ct);
            result.Add(ToInfo(a, counts.GetValueOrDefault(a.Id), keys.Count(k => k.RevokedAt is null)));
        }
        return Results.Json(result, Client.Http.WritJson.Options);
    }

    private static async Task<IResult> GetAsync(string id, IWritStore store, TimeProvider clock, CancellationToken ct)
    {
        var agent = await store.Agents.GetAsync(id, ct);
        if (agent is null) return Problems.Of(404, "agent.not_found", $"no agent {Bounded(id)} in the inventory");
        var keys = await store.Agents.ListKeysAsync(id, ct);
        var active = await store.Credentials.ListActiveAsync(id, clock.GetUtcNow(), ct);
        return Results.Json(new AgentDetail(
            ToInfo(agent, active.Count, keys.Count(k => k.RevokedAt is null)),
            keys.Select(k => new AgentKeyInfo(k.Thumbprint, k.CreatedAt, k.RevokedAt)).ToList(),
            active.Select(ToInfo).ToList()), Client.Http.WritJson.Options);
    }

    /// <summary>Suspending revokes every live credential of the agent at once (invariant 9); resuming grants nothing back.</summary>
    private static async Task<IResult> SetStatusAsync(string id, string status, HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var agent = await store.Agents.GetAsync(id, ct);
        if (agent is null) return Problems.Of(404, "agent.not_found", $"no agent {Bounded(id)} in the inventory");
        if (agent.Status == AgentStatuses.Offboarded) return Problems.Of(409, "agent.conflict", $"{id} is offboarded; it cannot be {status}");
        // Audited before it is done: if the audit log cannot record it, nothing changes (invariant 7).
        var caller = Caller.Of(http);
        await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null,
            status == AgentStatuses.Suspended ? "agent.suspend" : "agent.resume", null, agent.Environment, null, id,
            Decisions.Info, null, null, 0, status == AgentStatuses.Suspended ? """{"revokes_live_credentials":true}""" : null), null, ct);
        // One transaction: a suspension cut short (the client gone, the database failing) must not leave live tokens that
        // a later resume would bring back.
        await store.Agents.SetStatusAsync(id, status, status == AgentStatuses.Suspended ? clock.GetUtcNow() : null, ct);
        var updated = (await store.Agents.GetAsync(id, ct))!;
        var counts = await store.Credentials.CountActiveByAgentAsync(clock.GetUtcNow(), ct);
        var keys = await store.Agents.ListKeysAsync(id, ct);
        return Results.Json(ToInfo(updated, counts.GetValueOrDefault(id), keys.Count(k => k.RevokedAt is null)), Client.Http.WritJson.Options);
    }

    private static async Task<IResult> CreateEnrollmentCodeAsync(string id, HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var agent = await store.Agents.GetAsync(id, ct);
        if (agent is null) return Problems.Of(404, "agent.not_found", $"no agent {Bounded(id)} in the inventory (declare it in policy and apply)");
        if (agent.Status != AgentStatuses.Active) return Problems.Of(409, "agent.conflict", $"{id} is {agent.Status}; resume it before enrolling a key");
        var code = "wenr_" + Ids.Random(24);
        var now = clock.GetUtcNow();
        var caller = Caller.Of(http);
        // Audited before the code exists: a code the log never saw cannot be issued (invariant 7).
        await audit.RecordAsync(new AuditEvent(now, caller.ActorKind, caller.ActorId, null, null, "agent.enrollment_code", null, agent.Environment, null, id,
            Decisions.Info, null, null, 0, $$"""{"code_sha256_prefix":"{{Ids.Sha256Hex(code)[..12]}}"}"""), null, ct);
        await store.Agents.AddEnrollmentCodeAsync(new EnrollmentCode(Ids.Sha256Hex(code), id, caller.ActorId, now, now + EnrollmentCodeLifetime, null), ct);
        return Results.Json(new EnrollmentCodeInfo(id, code, now + EnrollmentCodeLifetime), Client.Http.WritJson.Options);
    }

    /// <summary>
    /// The agent registers its public key with the one-time code. The request carries a DPoP proof
    /// signed by that very key, so nobody can enroll a key they do not hold.
    /// </summary>
    private static async Task<IResult> EnrollAsync(HttpContext http, IWritStore store, DpopProofValidator proofs, ServerContext server, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var body = await RequestBody.ReadJsonAsync<EnrollRequest>(http.Request);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        if (string.IsNullOrEmpty(body.Value.Code) || string.IsNullOrEmpty(body.Value.Jwk))
            return Problems.BadRequest("request.invalid", "code and jwk are required");

        string jkt;
        try
        {
            using var key = EcJwk.ImportPublic(body.Value.Jwk);
            jkt = JwkThumbprint.Compute(key.ExportParameters(false));
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException or System.Text.Json.JsonException)
        {
            await BearerCredential.AuditRefusalAsync(http, "agent.enroll", ActorKinds.Unknown, "unknown", "enroll.invalid_key");
            return Problems.BadRequest("enroll.invalid_key", "jwk must be a public EC P-256 key in JWK form");
        }

        var proof = proofs.Validate(DpopHeader.Of(http.Request), "POST", server.UrlOf(http.Request.Path), null);
        var refused = !proof.IsSuccess ? proof.Error! : proof.Value.Jkt != jkt
            ? new Error("enroll.proof_key_mismatch", "the DPoP proof must be signed by the key being enrolled") : null;
        if (refused is not null)
        {
            await BearerCredential.AuditRefusalAsync(http, "agent.enroll", ActorKinds.Unknown, "unknown", refused.Code);
            return Problems.Of(refused, 401);
        }

        var now = clock.GetUtcNow();
        // The key and its audit record commit together: an enrollment the log cannot record does not happen (503).
        var enrolled = await store.Agents.EnrollAsync(Ids.Sha256Hex(body.Value.Code), jkt, body.Value.Jwk, now, (agent, key) =>
            new AuditEvent(now, OAuth.TokenEndpoint.ActorKindOf(agent), agent.Id, null, null, "agent.enroll", null, agent.Environment, null, null,
                Decisions.Allow, null, null, 0, $$"""{"jkt":"{{key.Thumbprint}}"}"""), ct);
        if (!enrolled.IsSuccess)
        {
            await audit.RecordAsync(new AuditEvent(now, ActorKinds.Unknown, "unknown", null, null, "agent.enroll", null, null, null, null,
                Decisions.Deny, enrolled.Error!.Code, null, 0, null), null, ct);
            return Problems.Of(enrolled.Error!, enrolled.Error!.Code == "enroll.key_exists" ? 409 : 400);
        }
        return Results.Json(new EnrollResponse(enrolled.Value.AgentId, jkt), Client.Http.WritJson.Options);
    }

    public static AgentInfo ToInfo(Agent a, int activeCredentials, int keys) =>
        new(a.Id, a.Name, a.Environment, a.Kind, a.Owner, a.Roles, a.Description, a.Status, a.CreatedAt, a.LastSeenAt, activeCredentials, keys);

    public static CredentialInfo ToInfo(IssuedCredential c) =>
        new(c.Jti, c.AgentId, c.TaskId, c.Resource, c.Environment, c.Scope, c.Target, c.IssuedAt, c.ExpiresAt, c.RevokedAt);

    /// <summary>Echoes user input only bounded and printable.</summary>
    public static string Bounded(string value) =>
        // The common case (the gateway audits every call's resource through this) is returned as is, without a copy.
        value.Length <= 120 && value.AsSpan().IndexOfAnyInRange('\u0000', '\u001f') < 0 && value.AsSpan().IndexOfAnyInRange('\u007f', '\u009f') < 0 ? value
            : new string(value.Take(120).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
