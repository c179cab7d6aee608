namespace Writ.Server.Tests.Humans;

/// <summary>The system clock moved forward by <see cref="Offset"/>, so a test can live through a 15-minute expiry in no time.</summary>
public sealed class ShiftedClock : TimeProvider
{
    public TimeSpan Offset { get; set; }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
