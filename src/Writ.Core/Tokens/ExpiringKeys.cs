using System.Collections.Concurrent;

namespace Writ.Core.Tokens;

/// <summary>
/// String keys, each with the UTC ticks it expires at, counted and swept of expired entries: the store under the DPoP
/// replay cache and the proofs checked ahead. Thread safe; a sweep walks every entry, and only one runs at a time.
/// </summary>
internal sealed class ExpiringKeys(long nowTicks)
{
    private readonly ConcurrentDictionary<string, long> _entries = new(StringComparer.Ordinal);
    private long _lastSweepTicks = nowTicks;
    private int _sweeping;

    // Our own count: ConcurrentDictionary.Count takes every bucket lock, far too costly on each add.
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>When the last sweep started.</summary>
    public long LastSweepTicks => Interlocked.Read(ref _lastSweepTicks);

    public bool TryGetValue(string key, out long expires) => _entries.TryGetValue(key, out expires);

    public bool TryUpdate(string key, long expires, long comparison) => _entries.TryUpdate(key, expires, comparison);

    public bool TryAdd(string key, long expires)
    {
        if (!_entries.TryAdd(key, expires)) return false;
        Interlocked.Increment(ref _count);
        return true;
    }

    public bool TryRemove(string key, out long expires)
    {
        if (!_entries.TryRemove(key, out expires)) return false;
        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>Removes every entry expired at <paramref name="now"/>; returns at once when another caller is sweeping.</summary>
    public void Sweep(long now)
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
