using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

public sealed class MemoryDpopReplayCacheTests
{
    private readonly TestClock _clock = TestClock.At2026();

    [Fact]
    public void TryAdd_SameKeyWithinItsWindow_IsAReplay()
    {
        var cache = new MemoryDpopReplayCache(_clock);
        Assert.True(cache.TryAdd("jkt:jti", _clock.Now.AddSeconds(60)));
        Assert.False(cache.TryAdd("jkt:jti", _clock.Now.AddSeconds(60)));
        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(cache.TryAdd("jkt:jti", _clock.Now.AddSeconds(60)));
    }

    [Fact]
    public void TryAdd_AfterTheEntryExpired_IsAccepted()
    {
        var cache = new MemoryDpopReplayCache(_clock);
        Assert.True(cache.TryAdd("k", _clock.Now.AddSeconds(60)));
        _clock.Advance(TimeSpan.FromSeconds(61));
        Assert.True(cache.TryAdd("k", _clock.Now.AddSeconds(60)));
    }

    [Fact]
    public void TryAdd_WhenFullOfLiveEntries_FailsClosed()
    {
        var cache = new MemoryDpopReplayCache(_clock, capacity: 3);
        for (var i = 0; i < 3; i++) Assert.True(cache.TryAdd("k" + i, _clock.Now.AddSeconds(60)));
        Assert.False(cache.TryAdd("k3", _clock.Now.AddSeconds(60)));
        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public void TryAdd_WhenFullButEntriesExpired_SweepsAndAccepts()
    {
        var cache = new MemoryDpopReplayCache(_clock, capacity: 3);
        for (var i = 0; i < 3; i++) Assert.True(cache.TryAdd("k" + i, _clock.Now.AddSeconds(5)));
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.True(cache.TryAdd("k3", _clock.Now.AddSeconds(5)));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void TryAdd_SameKeyFromManyThreads_ExactlyOneWins()
    {
        var cache = new MemoryDpopReplayCache(_clock);
        var wins = 0;
        Parallel.For(0, 64, _ => { if (cache.TryAdd("race", _clock.Now.AddSeconds(60))) Interlocked.Increment(ref wins); });
        Assert.Equal(1, wins);
    }
}
