using Writ.Core.Audit;
using Microsoft.AspNetCore.Http;
using Writ.Core.Agents;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Auth;

/// <summary>
/// Authenticates an agent by a DPoP proof (RFC 9449) signed with its enrolled key: no bearer secret
/// exists that could be copied. The proof is bound to this method and URL, fresh, and single-use.
/// </summary>
internal sealed class AgentAuthenticator(IWritStore store, DpopProofValidator proofs, ServerContext server, TimeProvider clock, StatusView view)
{
    private const int HolderCapacity = 10_000;
    /// <summary>Last-seen is written at most this often per agent: it is inventory data, not worth a write per request.</summary>
    private static readonly TimeSpan LastSeenResolution = TimeSpan.FromMinutes(1);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _lastSeenWritten = new();

    /// <summary>
    /// Key, agent and task by (key thumbprint, task id), as read at a <see cref="StatusView"/> generation: every write that
    /// can suspend an agent or close a task bumps the generation after it commits, so a stale entry is never served
    /// (invariant 9). Only where the view is enabled (one writer: SQLite); elsewhere every request reads the store.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Jkt, string? TaskId), (long Generation, KeyHolder Holder)> _holders = new();

    public async Task<Result<AgentCaller>> AuthenticateAsync(HttpContext http, string? accessToken = null)
    {
        var proof = proofs.Validate(DpopHeader.Of(http.Request), http.Request.Method, server.UrlOf(http.Request.Path), accessToken);
        if (!proof.IsSuccess) return proof.Error!;
        return await ResolveAgentAsync(proof.Value.Jkt, null, http.RequestAborted);
    }

    /// <summary>
    /// The active agent that enrolled the key with thumbprint <paramref name="jkt"/>, with its task
    /// <paramref name="taskId"/> if it has one by that id — one store read, or the view of it as of the last write that
    /// could change it, so a suspension or a closed task takes effect at once. (Time-based closure, a task past its
    /// expiry, is the caller's check on every request.)
    /// </summary>
    public async Task<Result<AgentCaller>> ResolveAgentAsync(string jkt, string? taskId, CancellationToken ct)
    {
        var holder = await GetHolderAsync(jkt, taskId, ct);
        if (holder is null || holder.Key.RevokedAt is not null)
            return new Error("auth.unknown_key", "the proof's key is not enrolled with Writ (run `writ enroll`)");
        var agent = holder.Agent;
        if (agent.Status != AgentStatuses.Active)
            return new Error("agent.not_active", $"{agent.Id} is {agent.Status} and gets nothing");
        await TouchAsync(agent.Id, ct);
        return new AgentCaller(agent, jkt, holder.Task);
    }

    private async Task<KeyHolder?> GetHolderAsync(string jkt, string? taskId, CancellationToken ct)
    {
        // The generation is read before the store: a write committing meanwhile bumps it, so what is read now is stored
        // under an already-stale generation and never served.
        var generation = view.Generation;
        if (view.Enabled && _holders.TryGetValue((jkt, taskId), out var cached) && cached.Generation == generation) return cached.Holder;
        var holder = await store.Agents.GetKeyHolderAsync(jkt, taskId, ct);
        // A task id that named no task of this agent is not remembered: tasks are created without bumping the generation.
        if (view.Enabled && holder is not null && (taskId is null || holder.Task is not null))
        {
            if (_holders.Count >= HolderCapacity) _holders.Clear();
            _holders[(jkt, taskId)] = (generation, holder);
        }
        return holder;
    }

    private async Task TouchAsync(string agentId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_lastSeenWritten.TryGetValue(agentId, out var last) && now - last < LastSeenResolution) return;
        _lastSeenWritten[agentId] = now;
        await store.Agents.TouchLastSeenAsync(agentId, now, ct);
    }
}

internal static class AgentAuthenticationExtensions
{
    public static RouteGroupBuilder RequireAgent(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var result = await http.RequestServices.GetRequiredService<AgentAuthenticator>().AuthenticateAsync(http);
            if (!result.IsSuccess)
            {
                http.Response.Headers.WWWAuthenticate = "DPoP algs=\"ES256\"";
                // A refusal is a decision: recorded like the human and gateway ones (method and path, never the proof).
                await BearerCredential.AuditRefusalAsync(http, "agent.auth", ActorKinds.Unknown, "unknown", result.Error!.Code);
                return Problems.Of(result.Error!, result.Error!.Code == "agent.not_active" ? 403 : 401);
            }
            result.Value.AttachTo(http);
            return await next(context);
        });
        return group;
    }
}
