namespace Writ.Core.Tokens;

/// <summary>
/// Remembers single-use ids (DPoP <c>jti</c>, RFC 9449 §11.1; client assertion <c>jti</c>, RFC 7523 §3
/// item 7) until they could no longer be accepted anyway.
/// </summary>
public interface IDpopReplayCache
{
    /// <summary>Records <paramref name="key"/> until <paramref name="expiresAt"/>; false when it is already recorded and not expired (a replay).</summary>
    bool TryAdd(string key, DateTimeOffset expiresAt);
}

/// <summary>
/// In-process <see cref="IDpopReplayCache"/>: thread safe; expired entries are swept on the write path
/// (amortised, at most one sweeper at a time); memory is bounded by <see cref="Capacity"/>. When full
/// of unexpired entries it refuses new ones (fails closed: a proof is rejected rather than accepted
/// unchecked). Only correct for a single replica: several <c>writ server</c> replicas need a shared
/// cache (e.g. a PostgreSQL table with a unique key), or a proof replayed to another replica is accepted.
/// </summary>
public sealed class MemoryDpopReplayCache(TimeProvider clock, int capacity = 1_000_000) : IDpopReplayCache
{
    // Sweeping walks every entry, so it runs on a timer-like cadence rather than every N adds: at a
    // 60 s proof window the cache holds about (60 s + interval) × request rate entries.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ExpiringKeys _entries = new(clock.GetUtcNow().UtcTicks);

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count => _entries.Count;

    public bool TryAdd(string key, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = clock.GetUtcNow().UtcTicks;
        if (now - _entries.LastSweepTicks >= SweepInterval.Ticks) _entries.Sweep(now);
        var expires = expiresAt.UtcTicks;
        while (true)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing > now) return false;
                // Expired entry with the same key: take it over atomically, or retry if someone else did.
                if (_entries.TryUpdate(key, expires, existing)) return true;
                continue;
            }
            if (_entries.Count >= Capacity)
            {
                _entries.Sweep(now);
                if (_entries.Count >= Capacity) return false;
            }
            if (_entries.TryAdd(key, expires)) return true;
        }
    }
}
