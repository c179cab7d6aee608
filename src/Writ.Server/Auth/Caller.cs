using Microsoft.AspNetCore.Http;
using Writ.Core.Agents;

namespace Writ.Server.Auth;

/// <summary>Who is calling, as the audit log names them.</summary>
internal sealed record Caller(string ActorKind, string ActorId)
{
    private const string ItemKey = "writ.caller";

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
