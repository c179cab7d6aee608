using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Core.Agents;
using Writ.Core.Approvals;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Credentials;
using Writ.Core.Policy;
using Writ.Core.Storage;
using Writ.Core.Tasks;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Approvals;
using Writ.Server.Webhooks;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.Keys;

namespace Writ.Server.OAuth;

/// <summary>
/// <c>POST /oauth/token</c> (RFC 6749 §4.4, client_credentials): the issuance pipeline, one plain
/// sequence — authenticate (DPoP proof by an enrolled key, optionally RFC 7523 private_key_jwt) →
/// validate the request → evaluate policy → audit durably → sign → respond. Every outcome after
/// parsing is audited before the response leaves (invariant 7).
/// </summary>
internal sealed partial class TokenEndpoint(
    PolicyHolder policy,
    AgentAuthenticator agents,
    DpopProofValidator proofs,
    ClientAssertionValidator assertions,
    SigningKeyRing keys,
    AuditLog audit,
    IWritStore store,
    ApprovalNotifier notifier,
    ServerContext server,
    TimeProvider clock)
{
    public const string JwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public async Task<IResult> HandleAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var ct = http.RequestAborted;
        var formResult = await RequestBody.ReadFormAsync(http.Request);
        if (!formResult.IsSuccess) return OAuthResults.Error("invalid_request", formResult.Error!);
        var form = formResult.Value;

        var p = TokenRequestParameters.Read(form);
        if (!p.IsSuccess) return OAuthResults.Error("invalid_request", p.Error!);
        var request = p.Value;

        if (request.GrantType != "client_credentials")
            return OAuthResults.Error("unsupported_grant_type", "oauth.unsupported_grant_type", "Writ issues agent credentials with grant_type=client_credentials");

        // 1. Authenticate: the DPoP proof's key must be an enrolled key of an active agent.
        var proof = proofs.Validate(DpopHeader.Of(http.Request), "POST", server.TokenEndpoint, null);
        if (!proof.IsSuccess)
            return await RefuseUnauthenticatedAsync(request, "invalid_dpop_proof", proof.Error!, started, ct);

        var caller = await agents.ResolveAgentAsync(proof.Value.Jkt, request.TaskId, ct);
        if (!caller.IsSuccess)
            return await RefuseUnauthenticatedAsync(request, "invalid_client", caller.Error!, started, ct, status: 401);
        var agent = caller.Value.Agent;

        if (request.ClientId is not null && request.ClientId != agent.Id)
            return await RefuseUnauthenticatedAsync(request, "invalid_client",
                new Error("auth.client_mismatch", "client_id does not name the agent whose key signed the DPoP proof"), started, ct, status: 401);

        if (request.ClientAssertion is not null || request.ClientAssertionType is not null)
        {
            var assertion = CheckClientAssertion(request, agent.Id, proof.Value);
            if (assertion is not null) return await RefuseUnauthenticatedAsync(request, "invalid_client", assertion, started, ct, status: 401);
        }

        // 2. Validate what is asked.
        var ask = Validate(request, agent, caller.Value.Task);
        if (!ask.IsSuccess)
        {
            await AuditAsync(agent, ask.Error!, request, null, started, ct);
            return OAuthResults.Error(ask.Error!.Code.StartsWith("scope.", StringComparison.Ordinal) ? "invalid_scope" : "invalid_request", ask.Error!);
        }
        var (task, resource, actions, environment, ttl) = ask.Value;

        // 3. Policy.
        var compiled = policy.Current;
        if (compiled is null)
        {
            var none = new Error("policy.none", "no policy has been applied to this server (writ apply -f POLICY)");
            await AuditAsync(agent, none, request, task, started, ct);
            return OAuthResults.Error("access_denied", none);
        }
        var decision = compiled.Evaluate(new AccessRequest(agent.Id, environment, resource, actions, request.Target, ttl));

        // 3b. Write needs a human's approval, delete an elevation: create the request or redeem the grant.
        Approval? granted = null;
        if (decision.Kind is DecisionKind.ApprovalRequired or DecisionKind.ElevationRequired)
        {
            var step = await HumanStepAsync(new HumanStepContext(agent, task, request, decision, compiled.Version, environment, resource, actions, ttl, started), ct);
            if (step.Answer is not null) return step.Answer;
            granted = step.Grant;
        }
        else if (decision.Kind != DecisionKind.Allow)
        {
            var refusal = new Error(decision.Code, decision.Message);
            await AuditAsync(agent, refusal, request, task, started, ct, decision.Kind, compiled.Version, environment, resource);
            return OAuthResults.Error("access_denied", refusal, 403);
        }

        // 4. Issue: the credential never outlives its task.
        var now = clock.GetUtcNow();
        var expires = now + (granted is null || decision.Ttl <= granted.Rule.MaxGrant ? decision.Ttl : granted.Rule.MaxGrant);
        if (expires > task.ExpiresAt) expires = task.ExpiresAt;
        // An elevation's credentials die with its window.
        if (granted?.WindowEndsAt is { } windowEnds && expires > windowEnds) expires = windowEnds;
        expires = DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds());
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var jti = Ids.TimeOrdered(now);
        // Under an approval the credential carries the approval's normalised scope, so the window's close finds it.
        var scope = granted?.Request.Scope ?? request.Scope!;
        var claims = new AccessTokenClaims(
            Issuer: server.Issuer,
            Subject: agent.Id,
            Audience: resource,
            Scope: scope,
            Environment: environment,
            TaskId: task.Id,
            Target: request.Target,
            Jti: jti,
            IssuedAt: issuedAt,
            ExpiresAt: expires,
            Jkt: proof.Value.Jkt,
            ClientId: agent.Id,
            OnBehalfOf: task.OnBehalfOf,
            Restrictions: decision.Restrictions,
            PolicyVersion: compiled.Version);
        var credential = new IssuedCredential(jti, agent.Id, task.Id, resource, environment, scope, request.Target, proof.Value.Jkt, issuedAt, expires, null);

        // Signed first, then audited: the token leaves only once its record is durable, and an idle audit writer commits
        // that record on this thread (AuditWriter), so there is nothing to overlap the signing with here.
        var token = AccessTokenIssuer.Issue(claims, keys.Active);
        var record = Event(agent, task, Decisions.Allow, granted is null ? decision.Code : GrantCode(granted), request, compiled.Version, environment, resource,
            started, granted is null
                ? $$"""{"jti":"{{jti}}","ttl":{{(int)(expires - issuedAt).TotalSeconds}}}"""
                : $$"""{"jti":"{{jti}}","ttl":{{(int)(expires - issuedAt).TotalSeconds}},"approval":"{{granted.Id}}"}""");
        if (granted is not { Status: ApprovalStatuses.Used })
        {
            await audit.RecordAsync(record, credential, ct);
        }
        else
        {
            // The approval was spent on this token. Its record is awaited to the end (a client that leaves does not undo a
            // queued record), and if the log refused it, nothing was issued: the approval is given back, so a human's
            // decision is not burned by an outage. (Once the record is durable, the approval stays spent.)
            try
            {
                await audit.RecordAsync(record, credential, CancellationToken.None);
            }
            catch (AuditUnavailableException)
            {
                try
                {
                    await store.Approvals.UpdateAsync(granted with { Status = ApprovalStatuses.Approved, UsedAt = null, Version = granted.Version + 1 },
                        CancellationToken.None);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The database is failing too: the approval stays spent. The answer is still the audit log's 503.
                }
                throw;
            }
        }

        return OAuthResults.Json(new TokenResponse(token, "DPoP", (int)(expires - issuedAt).TotalSeconds, scope, task.Id, environment, request.Target));
    }

    private Error? CheckClientAssertion(TokenRequest request, string agentId, DpopProof proof)
    {
        if (request.ClientAssertionType != JwtBearerAssertionType || request.ClientAssertion is null)
            return new Error("auth.invalid_client_assertion", $"client_assertion_type must be {JwtBearerAssertionType} with a client_assertion (RFC 7523 §2.2)");
        using var key = EcJwk.ImportPublic(proof.PublicJwk);
        // The assertion must be signed by the same enrolled key that signed the DPoP proof.
        var result = assertions.Validate(request.ClientAssertion, server.TokenEndpoint, clientId => clientId == agentId ? key : null);
        return result.IsSuccess ? null : result.Error;
    }

    private Result<(WorkTask Task, string Resource, IReadOnlyList<string> Actions, string Environment, TimeSpan? Ttl)> Validate(
        TokenRequest request, Agent agent, WorkTask? task)
    {
        if (request.Scope is null) return new Error("scope.missing", "name what the credential is for: scope=resource:action (e.g. crm:read)");
        var parsed = Scopes.Parse(request.Scope);
        if (!parsed.IsSuccess) return parsed.Error!;
        var resources = parsed.Value.Select(s => s.Resource).Distinct(StringComparer.Ordinal).ToArray();
        if (resources.Length != 1)
            return new Error("scope.multiple_resources", "one credential is for one resource: request a credential per resource");
        var resource = resources[0];
        if (request.Resource is not null && request.Resource != resource)
            return new Error("scope.resource_mismatch", $"the resource parameter ({request.Resource}) does not match the scope's resource ({resource})");

        TimeSpan? ttl = null;
        if (request.Ttl is not null)
        {
            if (!Durations.TryParse(request.Ttl, out var t)) return new Error("request.invalid_ttl", "ttl must be a positive number of seconds or a duration like 90s, 5m, 1h");
            ttl = t;
        }
        if (request.Target is { } target && (target.Length > 512 || target.Any(char.IsControl)))
            return new Error("request.invalid_target", "target must be at most 512 printable characters");

        if (request.TaskId is null) return new Error("task.required", "every credential belongs to a task: open one first (writ task start) and send task_id");
        if (task is null || task.AgentId != agent.Id) return new Error("task.not_found", $"no task {Truncate(request.TaskId)} belongs to {agent.Id}");
        if (!task.IsOpenAt(clock.GetUtcNow())) return new Error("task.not_open", $"task {task.Id} is {(task.Status == TaskStatuses.Open ? "expired" : task.Status)}: open a new task");

        var environment = request.Environment ?? agent.Environment;
        return (task, resource, parsed.Value.Select(s => s.Action).ToArray(), environment, ttl);
    }

    private async Task<IResult> RefuseUnauthenticatedAsync(TokenRequest request, string oauthError, Error error, long started, CancellationToken ct, int status = 400)
    {
        await audit.RecordAsync(new AuditEvent(
            clock.GetUtcNow(), ActorKinds.Unknown, ClaimedName(request.ClientId), null, null, "token.issue", null, null, Truncate(request.Scope),
            Truncate(request.Target), Decisions.Deny, error.Code, policy.Current?.Version, ElapsedMicros(started), null), null, ct);
        return OAuthResults.Error(oauthError, error, status);
    }

    private Task AuditAsync(Agent agent, Error error, TokenRequest request, WorkTask? task, long started, CancellationToken ct,
        DecisionKind kind = DecisionKind.Deny, int? policyVersion = null, string? environment = null, string? resource = null)
    {
        var decision = kind switch
        {
            DecisionKind.ApprovalRequired => Decisions.ApprovalRequired,
            DecisionKind.ElevationRequired => Decisions.ElevationRequired,
            _ => Decisions.Deny,
        };
        return audit.RecordAsync(Event(agent, task, decision, error.Code, request, policyVersion ?? policy.Current?.Version, environment ?? agent.Environment, resource, started, null), null, ct);
    }

    private AuditEvent Event(Agent agent, WorkTask? task, string decision, string reason, TokenRequest request, int? policyVersion,
        string environment, string? resource, long started, string? details) =>
        new(clock.GetUtcNow(), ActorKindOf(agent), agent.Id, task?.OnBehalfOf, task?.Id, "token.issue", resource, environment,
            Truncate(request.Scope), Truncate(request.Target), decision, reason, policyVersion, ElapsedMicros(started), details);

    public static string ActorKindOf(Agent agent) => agent.Kind switch
    {
        AgentKinds.Service => ActorKinds.Service,
        AgentKinds.Ci => ActorKinds.Ci,
        _ => ActorKinds.AiAgent,
    };

    private static long ElapsedMicros(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;

    /// <summary>Names a caller that failed to authenticate by what it claimed, sanitised and bounded (it is attacker input).</summary>
    private static string ClaimedName(string? clientId) =>
        clientId is not null && AgentId.IsValid(clientId) ? "claimed:" + clientId : "unknown";

    private static string? Truncate(string? value) => value is null ? null : value.Length <= 256 ? value : value[..256] + "…";
}

/// <summary>The token request's parameters (RFC 6749 §4.4.2, RFC 7521 §4.2, RFC 8707 §2, and Writ's task_id/target/ttl/environment).</summary>
internal sealed record TokenRequest(
    string? GrantType, string? ClientId, string? Scope, string? Resource, string? TaskId, string? Target, string? Ttl,
    string? Environment, string? ClientAssertionType, string? ClientAssertion, string? Justification, string? ApprovalId);

internal static class TokenRequestParameters
{
    public static Result<TokenRequest> Read(IFormCollection form)
    {
        string[] names = ["grant_type", "client_id", "scope", "resource", "task_id", "target", "ttl", "environment", "client_assertion_type", "client_assertion",
            "justification", "approval_id"];
        var values = new string?[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var v = RequestBody.Single(form, names[i]);
            if (!v.IsSuccess) return v.Error!;
            values[i] = v.Value;
        }
        if (values[0] is null) return new Error("request.missing_grant_type", "grant_type is required");
        return new TokenRequest(values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7], values[8], values[9], values[10], values[11]);
    }
}
