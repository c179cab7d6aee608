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
    private const int SweepEvery = 4096;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, long> _entries = new(StringComparer.Ordinal);
    private long _adds;
    private long _lastSweepTicks = clock.GetUtcNow().UtcTicks;
    private int _sweeping;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count => _entries.Count;

    public bool TryAdd(string key, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = clock.GetUtcNow().UtcTicks;
        MaybeSweep(now);
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
                Sweep(now);
                if (_entries.Count >= Capacity) return false;
            }
            if (_entries.TryAdd(key, expires)) return true;
        }
    }

    private void MaybeSweep(long now)
    {
        if (Interlocked.Increment(ref _adds) % SweepEvery != 0 && now - Interlocked.Read(ref _lastSweepTicks) < SweepInterval.Ticks) return;
        Sweep(now);
    }

    private void Sweep(long now)
    {
        if (Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0) return;
        try
        {
            Interlocked.Exchange(ref _lastSweepTicks, now);
            foreach (var (key, expires) in _entries)
            {
                if (expires <= now) _entries.TryRemove(new KeyValuePair<string, long>(key, expires));
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
