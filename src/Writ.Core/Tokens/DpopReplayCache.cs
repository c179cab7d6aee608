using System.Collections.Concurrent;

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

    private readonly ConcurrentDictionary<string, long> _entries = new(StringComparer.Ordinal);
    private long _lastSweepTicks = clock.GetUtcNow().UtcTicks;
    private int _sweeping;

    // Our own count: ConcurrentDictionary.Count takes every bucket lock, far too costly on each add.
    private int _count;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count => Volatile.Read(ref _count);

    public bool TryAdd(string key, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = clock.GetUtcNow().UtcTicks;
        if (now - Interlocked.Read(ref _lastSweepTicks) >= SweepInterval.Ticks) Sweep(now);
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
            if (Volatile.Read(ref _count) >= Capacity)
            {
                Sweep(now);
                if (Volatile.Read(ref _count) >= Capacity) return false;
            }
            if (_entries.TryAdd(key, expires))
            {
                Interlocked.Increment(ref _count);
                return true;
            }
        }
    }

    private void Sweep(long now)
    {
        if (Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0) return;
        try
        {
            Interlocked.Exchange(ref _lastSweepTicks, now);
            foreach (var (key, expires) in _entries)
            {
                if (expires <= now && _entries.TryRemove(new KeyValuePair<string, long>(key, expires))) Interlocked.Decrement(ref _count);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
