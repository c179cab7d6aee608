using Microsoft.AspNetCore.Http;
using Writ.Core.Agents;

namespace Writ.Server.Auth;

/// <summary>Who is calling, as the audit log names them; for humans also the roles they hold.</summary>
internal sealed record Caller(string ActorKind, string ActorId)
{
    private const string ItemKey = "writ.caller";

    /// <summary>The human roles (admin, approver, auditor) of a human caller; empty for anyone else.</summary>
    public IReadOnlyList<string> Roles { get; init; } = [];

    /// <summary>Set when the caller is a logged-in user (not the bootstrap admin token): their session's token hash.</summary>
    public string? SessionHash { get; init; }

    public static Caller Of(HttpContext context) =>
        context.Items[ItemKey] as Caller ?? throw new InvalidOperationException("endpoint is missing its authentication filter");

    public void AttachTo(HttpContext context) => context.Items[ItemKey] = this;
}

/// <summary>
/// An authenticated agent: its inventory entry, the enrolled key that signed the request's proof, and the
/// task the request names when it named one of the agent's own.
/// </summary>
internal sealed record AgentCaller(Agent Agent, string KeyThumbprint, Core.Tasks.WorkTask? Task = null)
{
    private const string ItemKey = "writ.agent";

    public static AgentCaller Of(HttpContext context) =>
        context.Items[ItemKey] as AgentCaller ?? throw new InvalidOperationException("endpoint is missing its agent authentication filter");

    public void AttachTo(HttpContext context) => context.Items[ItemKey] = this;
}
