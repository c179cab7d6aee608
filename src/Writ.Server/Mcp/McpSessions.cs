using System.Collections.Concurrent;
using Writ.Core.Common;

namespace Writ.Server.Mcp;

/// <summary>
/// An agent's MCP session (<c>Mcp-Session-Id</c>). It carries no authority: every request is authenticated again with
/// its own token and proof, and must come from the agent and task that opened the session, so a leaked session id is
/// worth nothing. It remembers the negotiated protocol version and the agent's kind (for the audit).
/// </summary>
internal sealed record McpSession(string Id, string Resource, string Environment, string AgentId, string TaskId, string ProtocolVersion, string ActorKind, DateTimeOffset CreatedAt);

/// <summary>In-memory sessions, bounded: past <see cref="McpOptions.MaxSessions"/> the oldest are dropped (the client re-initializes on 404).</summary>
internal sealed class McpSessions(McpOptions options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, McpSession> _sessions = new(StringComparer.Ordinal);

    public McpSession Open(string resource, string environment, string agentId, string taskId, string protocolVersion, string actorKind)
    {
        if (_sessions.Count >= options.MaxSessions)
        {
            foreach (var old in _sessions.Values.OrderBy(s => s.CreatedAt).Take(Math.Max(1, options.MaxSessions / 10)))
                _sessions.TryRemove(old.Id, out _);
        }
        var session = new McpSession(Ids.Random(24), resource, environment, agentId, taskId, protocolVersion, actorKind, clock.GetUtcNow());
        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>The session, only for the same resource, environment, agent and task that opened it.</summary>
    public McpSession? Find(string id, string resource, string environment, string agentId, string taskId) =>
        _sessions.TryGetValue(id, out var s) && s.Resource == resource && s.Environment == environment && s.AgentId == agentId && s.TaskId == taskId ? s : null;

    public bool Close(McpSession session) => _sessions.TryRemove(session.Id, out _);
}
