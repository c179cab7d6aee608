using System.Collections.Concurrent;

namespace Writ.Core.Tokens;

/// <summary>
/// DPoP proofs whose signature was verified before the request that carries them arrived, by their exact text (see
/// <see cref="DpopProofValidator.CheckAhead"/>). Whether a signature is valid depends on that text alone, so taking an
/// entry stands for verifying it again; every other check runs when the proof is used. Thread safe and bounded: when
/// full of live entries nothing more is remembered, and those proofs are verified when used, like any other.
/// </summary>
internal sealed class DpopCheckedAhead(TimeProvider clock, int capacity)
{
    /// <summary>A sweep walks every entry: at most one a second, and only when the set is full.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, long> _entries = new(StringComparer.Ordinal);
    private long _lastSweepTicks;
    private int _sweeping;

    // Our own count: ConcurrentDictionary.Count takes every bucket lock.
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Remembers a verified proof until <paramref name="forgetAt"/> (when it is stale anyway); false when full.</summary>
    public bool Remember(string proof, DateTimeOffset forgetAt)
    {
        if (capacity <= 0) return false;
        if (Volatile.Read(ref _count) >= capacity)
        {
            Sweep(clock.GetUtcNow().UtcTicks);
            if (Volatile.Read(ref _count) >= capacity) return false;
        }
        if (!_entries.TryAdd(proof, forgetAt.UtcTicks)) return true; // sent ahead twice: already remembered
        Interlocked.Increment(ref _count);
        return true;
    }

    /// <summary>True once for a proof remembered and not yet stale; the entry is gone after.</summary>
    public bool TryTake(string proof)
    {
        // Most clients never send a proof ahead: no hashing of the proof's text for them.
        if (Volatile.Read(ref _count) == 0 || !_entries.TryRemove(proof, out var forgetAt)) return false;
        Interlocked.Decrement(ref _count);
        return forgetAt > clock.GetUtcNow().UtcTicks;
    }

    private void Sweep(long now)
    {
        if (now - Interlocked.Read(ref _lastSweepTicks) < SweepInterval.Ticks || Interlocked.CompareExchange(ref _sweeping, 1, 0) != 0) return;
        try
        {
            Interlocked.Exchange(ref _lastSweepTicks, now);
            foreach (var (proof, forgetAt) in _entries)
            {
                if (forgetAt <= now && _entries.TryRemove(new KeyValuePair<string, long>(proof, forgetAt))) Interlocked.Decrement(ref _count);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
