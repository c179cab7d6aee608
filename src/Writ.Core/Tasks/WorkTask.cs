namespace Writ.Core.Tasks;

public static class TaskStatuses
{
    public const string Open = "open";
    public const string Completed = "completed";
    public const string Expired = "expired";
}

/// <summary>
/// A unit of agent work. Every credential names its task; when the task completes or expires,
/// every credential issued under it stops working.
/// </summary>
public sealed record WorkTask(
    string Id,
    string AgentId,
    string Purpose,
    string? Ticket,
    string? OnBehalfOf,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? ClosedAt)
{
    public bool IsOpenAt(DateTimeOffset now) => Status == TaskStatuses.Open && now < ExpiresAt;
}
