using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Crypto;
using Writ.Core.Humans;
using Writ.Core.Secrets;
using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.Keys;
using Writ.Server.Secrets;

namespace Writ.Server.GatewayApi;

/// <summary>
/// What a standalone gateway (<c>writ gateway</c>) needs from the server, behind a gateway token
/// (<c>writ_gateway_…</c>, minted by an admin, stored hashed): the state feed (long poll), the policy in force, the
/// liveness of one token, the upstream secrets it injects (each read audited) and a batch audit append that answers
/// once the records are durable. A gateway token opens nothing else, and no other credential opens these.
/// </summary>
internal static class GatewayApiEndpoints
{
    public const string TokenPrefix = "writ_gateway_";
    private const string NamePrefix = "gateway:";
    private const int MaxAuditBatch = 512;
    private const int MaxAuditBodyBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(55);
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>What a gateway may write to the log: its own calls' decisions and outcomes, never anything else.</summary>
    private static readonly HashSet<string> GatewayActions = new(StringComparer.Ordinal) { "gateway.call", "gateway.result" };

    private static readonly HashSet<string> AgentActorKinds = new(StringComparer.Ordinal)
    {
        ActorKinds.AiAgent, ActorKinds.Service, ActorKinds.Ci, ActorKinds.Unknown,
    };

    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/gateway-tokens").RequireHuman(HumanRoles.Admin);
        admin.MapPost("", CreateTokenAsync);
        admin.MapDelete("/{name}", RevokeTokensAsync);
        admin.MapGet("", (GatewayFeed feed) => Results.Json(feed.Followers.Select(f => new GatewayFollowerInfo(f.Name[NamePrefix.Length..], f.Applied, f.SeenAt)), WritJson.Options));

        var group = app.MapGroup("/api/gateway").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var caller = await AuthenticateAsync(http);
            if (!caller.IsSuccess) return await BearerCredential.RefuseAsync(http, caller.Error!, "writ-gateway", "gateway.auth");
            caller.Value.AttachTo(http);
            return await next(context);
        });
        group.MapGet("/state", StateAsync);
        group.MapGet("/policy", PolicyAsync);
        group.MapPost("/liveness", LivenessAsync);
        group.MapPost("/secrets/{name}", SecretAsync);
        group.MapPost("/audit", AuditAsync);
        return app;
    }

    /// <summary>The one environment the calling gateway serves (its token was minted for <c>name@environment</c>), or null for all.</summary>
    private static string? ServedBy(Caller gateway)
    {
        var at = gateway.ActorId.IndexOf('@');
        return at < 0 ? null : gateway.ActorId[(at + 1)..];
    }

    private static async Task<Result<Caller>> AuthenticateAsync(HttpContext http)
    {
        var bearer = BearerCredential.Read(http.Request, "a gateway authenticates with Authorization: Bearer writ_gateway_… (see `writ gateway-token create`)",
            "agent credentials cannot call the gateway API");
        if (!bearer.IsSuccess) return bearer.Error!;
        var token = bearer.Value;
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal)) return new Error("auth.invalid_token", "the gateway token is not valid");
        var found = await http.RequestServices.GetRequiredService<IWritStore>().AdminTokens.FindAsync(Ids.Sha256Hex(token), http.RequestAborted);
        if (found is null || found.RevokedAt is not null || !found.Name.StartsWith(NamePrefix, StringComparison.Ordinal))
            return new Error("auth.invalid_token", "the gateway token is not valid (revoked, or never issued)");
        return new Caller(ActorKinds.System, found.Name);
    }

    // ---------- admin: gateway tokens ----------

    private static async Task<IResult> CreateTokenAsync(HttpContext http, IWritStore store, AuditLog audit, TimeProvider clock, PolicyHolder policy)
    {
        var body = await RequestBody.ReadJsonAsync<GatewayTokenRequest>(http.Request);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var (name, environment) = (body.Value.Name, body.Value.Environment);
        if (!Core.Agents.AgentId.IsValidName(name)) return Problems.BadRequest("gateway.invalid_name", "a gateway name is lower-case letters, digits and '-', e.g. edge-1");
        if (environment is not null && policy.Current?.Model.Environments.ContainsKey(environment) != true)
            return Problems.BadRequest("gateway.unknown_environment", $"no environment '{Agents.AgentEndpoints.Bounded(environment)}' in the policy in force");
        // A gateway serving one environment is named like an agent, name@environment.
        name = environment is null ? name : name + "@" + environment;
        var token = TokenPrefix + Ids.Random(32);
        var caller = Caller.Of(http);
        // Recorded before the token exists: a token the log never saw is never minted (invariant 7).
        await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, "gateway.token_create", null, null, null,
            NamePrefix + name, Decisions.Info, null, null, 0, null), null, http.RequestAborted);
        await store.AdminTokens.AddAsync(new AdminToken(Ids.Sha256Hex(token), NamePrefix + name, clock.GetUtcNow(), null), http.RequestAborted);
        return Results.Json(new GatewayTokenInfo(name, token), WritJson.Options);
    }

    private static async Task<IResult> RevokeTokensAsync(string name, HttpContext http, IWritStore store, TimeProvider clock, GatewayFeed feed)
    {
        if (!Core.Agents.AgentId.IsValidName(name) && !Core.Agents.AgentId.IsValid(name))
            return Problems.BadRequest("gateway.invalid_name", "name the gateway as `writ gateway-token list` shows it: edge-1, or edge-1@staging");
        var caller = Caller.Of(http);
        var now = clock.GetUtcNow();
        // The revocation and its record commit together (a failed append: 503, nothing revoked, retry).
        var revoked = await store.AdminTokens.RevokeByNameAsync(NamePrefix + name, now, n => new AuditEvent(now, caller.ActorKind, caller.ActorId, null, null,
            "gateway.token_revoke", null, null, null, NamePrefix + name, Decisions.Info, n == 0 ? "none_active" : null, null, 0, $$"""{"revoked":{{n}}}"""),
            http.RequestAborted);
        feed.Forget(NamePrefix + name);
        await feed.PublishAsync(); // ends the revoked gateway's long poll: its next request is refused, and it stops trusting its caches
        return revoked == 0
            ? Problems.Of(404, "gateway.not_found", $"no active token for gateway {name}")
            : Results.Json(new GatewayRevocationInfo(name, revoked), WritJson.Options);
    }

    // ---------- the gateway's own API ----------

    /// <summary>
    /// Long poll: <c>?after=V</c> is the version the gateway has applied (its acknowledgement); the answer comes when
    /// there is a newer one, or after <c>wait</c> seconds (at most 55) with the same.
    /// </summary>
    private static async Task<IResult> StateAsync(HttpContext http, GatewayFeed feed, StatusView view, PolicyHolder policy, SigningKeyRing keys, ServerContext server, IWritStore store, TimeProvider clock)
    {
        var q = http.Request.Query;
        long? after = null;
        if (q.TryGetValue("after", out var a))
        {
            if (!long.TryParse(a, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
                return Problems.BadRequest("gateway.bad_version", "after must be the version number the gateway applied");
            after = parsed;
        }
        var wait = TimeSpan.FromSeconds(25);
        if (q.TryGetValue("wait", out var w))
        {
            if (!int.TryParse(w, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds > MaxPoll.TotalSeconds)
                return Problems.BadRequest("gateway.bad_wait", $"wait is a number of seconds, at most {MaxPoll.TotalSeconds:0}");
            wait = TimeSpan.FromSeconds(seconds);
        }
        if (after is { } applied)
        {
            string? instance = q["instance"], epoch = q["epoch"];
            if (instance is null || instance.Length is 0 or > 64 || !instance.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                return Problems.BadRequest("gateway.bad_instance", "instance names the gateway process: 1 to 64 letters, digits, '-' or '_'");
            await feed.WaitAsync(Caller.Of(http).ActorId, instance, epoch ?? "", applied, wait, http.RequestAborted);
        }

        // The version is read before the state: a change committing meanwhile answers the next poll at once.
        var version = feed.Version;
        var current = policy.Current;
        var secrets = (await store.Secrets.ListAsync(http.RequestAborted)).ToDictionary(s => s.Name, s => s.LatestVersion, StringComparer.Ordinal);
        return Results.Json(new GatewayState(feed.Epoch, version, clock.GetUtcNow(), server.Issuer, ServedBy(Caller.Of(http)), view.Enabled, current?.Version, keys.JwksJson, secrets), WritJson.Options);
    }

    private static async Task<IResult> PolicyAsync(PolicyHolder holder, IWritStore store, CancellationToken ct)
    {
        if (holder.Current is not { } current) return Problems.Of(404, "policy.none", "no policy has been applied yet");
        var stored = await store.Policies.GetAsync(current.Version, ct);
        return stored is null
            ? Problems.Of(404, "policy.none", $"policy version {current.Version} is not stored")
            : Results.Json(new GatewayPolicy(stored.Version, stored.Sha256, stored.Source), WritJson.Options);
    }

    private static async Task<IResult> LivenessAsync(HttpContext http, IWritStore store)
    {
        var body = await RequestBody.ReadJsonAsync<LivenessRequest>(http.Request, 4096);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var r = body.Value;
        if (string.IsNullOrEmpty(r.Jti) || string.IsNullOrEmpty(r.TaskId) || !Core.Agents.AgentId.IsValid(r.AgentId))
            return Problems.BadRequest("request.invalid", "jti, task_id and agent_id are required");
        if (ServedBy(Caller.Of(http)) is { } environment && Core.Agents.AgentId.EnvironmentOf(r.AgentId) != environment)
            return Problems.Of(403, "gateway.environment_not_served", $"this gateway serves {environment} only");
        var read = await new StoreLivenessSource(store).ReadAsync(r.Jti, r.TaskId, r.AgentId, http.RequestAborted);
        return Results.Json(new LivenessAnswer(read.CredentialLive, read.Task, read.Agent), WritJson.Options);
    }

    /// <summary>An upstream secret, in the clear, for injection: audited as <c>secret.read</c> by the gateway, every time.</summary>
    private static async Task<IResult> SecretAsync(string name, HttpContext http, IWritStore store, MasterKey masterKey, AuditLog audit, TimeProvider clock, PolicyHolder policy)
    {
        if (SecretRules.CheckName(name) is { } bad) return Problems.Of(bad);
        var caller = Caller.Of(http);
        if (ServedBy(caller) is { } environment && !InjectedIn(policy.Current, environment, name))
        {
            // A staging gateway never holds a production secret, whatever it asks for (invariant 2).
            await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, "secret.read", null, environment, null, name,
                Decisions.Deny, "gateway.secret_out_of_scope", policy.Current?.Version, 0, null), null, http.RequestAborted);
            return Problems.Of(403, "gateway.secret_out_of_scope", $"this gateway serves {environment}, where no resource injects {name}");
        }
        var stored = await store.Secrets.GetAsync(name, null, http.RequestAborted);
        await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, "secret.read", null, null, null, name,
            stored is null ? Decisions.Deny : Decisions.Info, stored is null ? "secret.not_found" : null, null, 0,
            stored is null ? null : $$"""{"version":{{stored.Version}}}"""), null, http.RequestAborted);
        if (stored is null) return Problems.Of(404, "secret.not_found", $"no secret {name}");
        var bytes = SecretRules.Open(masterKey, stored);
        try
        {
            return Results.Json(new GatewaySecret(name, stored.Version, Encoding.UTF8.GetString(bytes)), WritJson.Options);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Whether a resource's gateway in <paramref name="environment"/> injects secret <paramref name="name"/> under the policy in force.</summary>
    private static bool InjectedIn(Core.Policy.CompiledPolicy? policy, string environment, string name) =>
        policy is not null && policy.Model.Resources.Values.Any(r =>
            r.Environments.TryGetValue(environment, out var e) && e.Gateway?.Credential?.Secret == name);

    /// <summary>
    /// Appends a gateway's audit records and answers once they are durable (the gateway forwards nothing before).
    /// Only <c>gateway.call</c>/<c>gateway.result</c> records about agents are taken, each marked with the gateway that
    /// sent it and when the server received it: a gateway can neither write in another actor's name (a human's
    /// approval) nor hide which gateway wrote, nor when.
    /// </summary>
    private static async Task<IResult> AuditAsync(HttpContext http, AuditLog audit, TimeProvider clock, GatewayProofs gatewayProofs)
    {
        var body = await RequestBody.ReadJsonAsync<AuditBatch>(http.Request, MaxAuditBodyBytes);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var events = body.Value.Events;
        if (events is null || events.Count == 0 || events.Count > MaxAuditBatch)
            return Problems.BadRequest("audit.bad_batch", $"send 1 to {MaxAuditBatch} events");
        var proofs = body.Value.Proofs;
        if (proofs is not null && proofs.Count != events.Count)
            return Problems.BadRequest("audit.bad_batch", "proofs, when sent, has one entry (or null) per event");
        var via = Caller.Of(http).ActorId;
        var served = ServedBy(Caller.Of(http));
        var now = clock.GetUtcNow();
        var accepted = new List<AuditEvent>(events.Count);
        foreach (var e in events)
        {
            if (Check(e, now) is { } problem) return Problems.BadRequest("audit.bad_event", problem);
            if (served is not null && e.Environment is not null && e.Environment != served)
                return Problems.BadRequest("audit.bad_event", $"this gateway serves {served}; it cannot record calls in {e.Environment}");
            accepted.Add(e with { Details = WithVia(e.Details, via, now) });
        }
        for (var i = 0; proofs is not null && i < proofs.Count; i++)
        {
            if (proofs[i] is not { } p) continue;
            if (events[i].Action != "gateway.call" || events[i].Decision != Decisions.Allow)
                return Problems.BadRequest("audit.bad_event", "a proof goes with a gateway.call allow decision only");
            if (GatewayProofs.Check(p, now) is { } problem) return Problems.BadRequest("audit.bad_event", problem);
        }
        // Only once the whole batch is accepted: a refused batch uses up no proof.
        var replayed = new bool[accepted.Count];
        for (var i = 0; proofs is not null && i < proofs.Count; i++)
        {
            if (proofs[i] is not { } p) continue;
            // A proof seen by any gateway following this server is refused at every other (invariant 3 across replicas).
            if (gatewayProofs.TryUse(p)) continue;
            replayed[i] = true;
            accepted[i] = accepted[i] with { Decision = Decisions.Deny, Reason = DpopErrors.Replayed };
        }
        var records = await audit.RecordAllAsync(accepted, http.RequestAborted);
        return Results.Json(new AuditBatchAnswer(records.Select((r, i) => new AuditBatchRecord(r.Seq, r.PrevHash, r.Hash, replayed[i])).ToList()), WritJson.Options);
    }

    private static string? Check(AuditEvent? e, DateTimeOffset now)
    {
        if (e is null) return "an event is null";
        if (!GatewayActions.Contains(e.Action ?? "")) return "a gateway may record gateway.call and gateway.result only";
        if (!AgentActorKinds.Contains(e.ActorKind ?? "")) return "the actor of a gateway call is an agent (ai-agent, service, ci) or unknown";
        if (string.IsNullOrEmpty(e.ActorId) || string.IsNullOrEmpty(e.Decision)) return "actor_id and decision are required";
        if (e.Decision is not (Decisions.Allow or Decisions.Deny or Decisions.Info)) return "decision is allow, deny or info";
        if ((now - e.At).Duration() > MaxClockSkew) return "the event's time is more than 5 minutes from the server's clock";
        foreach (var (field, value, max) in new[]
        {
            ("actor_id", e.ActorId, 256), ("on_behalf_of", e.OnBehalfOf, 256), ("task_id", e.TaskId, 128), ("resource", e.Resource, 128),
            ("environment", e.Environment, 64), ("scope", e.Scope, 1024), ("target", e.Target, 512), ("reason", e.Reason, 256), ("details", e.Details, 32 * 1024),
        })
        {
            if (value is not null && value.Length > max) return $"{field} is longer than {max} characters";
        }
        if (e.Details is { } d)
        {
            // Before the parse: its duplicate check, like every later read, would throw on such a key.
            if (JsonText.HasUnreadableString(d)) return "details has a string that is not valid Unicode (a lone surrogate)";
            try
            {
                // Repeated keys are refused: "via" is set here, and a second "via" must not be able to stand beside it.
                if (JsonNode.Parse(d, null, new JsonDocumentOptions { AllowDuplicateProperties = false }) is not JsonObject) return "details must be a JSON object";
            }
            catch (JsonException)
            {
                return "details must be a JSON object";
            }
        }
        return null;
    }

    /// <summary>Marks a gateway's record with the gateway and the server's time of receipt (the record's own time is the gateway's).</summary>
    private static string WithVia(string? details, string via, DateTimeOffset receivedAt)
    {
        var o = details is null ? new JsonObject() : (JsonObject)JsonNode.Parse(details)!;
        o["via"] = via;
        o["received_at"] = receivedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return o.ToJsonString();
    }
}
