namespace Writ.Core.Audit;

/// <summary>
/// Timestamps as whole microseconds since the Unix epoch, UTC: what both storage engines keep (BIGINT),
/// and what the audit chain hashes, so a record read back from either engine verifies bit for bit.
/// </summary>
public static class UnixMicros
{
    private const long TicksPerMicro = TimeSpan.TicksPerMicrosecond;

    private static readonly long EpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;

    /// <summary>Microseconds since the epoch, rounded down (towards the past, also before 1970).</summary>
    public static long From(DateTimeOffset at)
    {
        var ticks = at.UtcTicks - EpochTicks;
        var micros = ticks / TicksPerMicro;
        if (ticks < 0 && ticks % TicksPerMicro != 0) micros--;
        return micros;
    }

    public static DateTimeOffset ToTime(long micros) => new(EpochTicks + micros * TicksPerMicro, TimeSpan.Zero);

    /// <summary><see cref="From"/> for a column that may be NULL.</summary>
    public static long? FromOptional(DateTimeOffset? at) => at is { } t ? From(t) : null;

    /// <summary><see cref="ToTime"/> for a column that may be NULL.</summary>
    public static DateTimeOffset? ToOptionalTime(long? micros) => micros is { } m ? ToTime(m) : null;

    /// <summary>The same instant in UTC, truncated to whole microseconds.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset at) => ToTime(From(at));
}
