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

    private readonly ExpiringKeys _entries = new(clock.GetUtcNow().UtcTicks);

    public int Count => _entries.Count;

    /// <summary>Remembers a verified proof until <paramref name="forgetAt"/> (when it is stale anyway); false when full.</summary>
    public bool Remember(string proof, DateTimeOffset forgetAt)
    {
        if (capacity <= 0) return false;
        if (_entries.Count >= capacity)
        {
            var now = clock.GetUtcNow().UtcTicks;
            if (now - _entries.LastSweepTicks >= SweepInterval.Ticks) _entries.Sweep(now);
            if (_entries.Count >= capacity) return false;
        }
        _entries.TryAdd(proof, forgetAt.UtcTicks); // false when sent ahead twice: already remembered
        return true;
    }

    /// <summary>True once for a proof remembered and not yet stale; the entry is gone after.</summary>
    public bool TryTake(string proof)
    {
        // Most clients never send a proof ahead: no hashing of the proof's text for them.
        if (_entries.Count == 0 || !_entries.TryRemove(proof, out var forgetAt)) return false;
        return forgetAt > clock.GetUtcNow().UtcTicks;
    }
}
