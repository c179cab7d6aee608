using Writ.Core.Common;

namespace Writ.Core.Tests.Common;

public sealed class IdsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 19, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TimeOrdered_SortsByTime_ByteForByte()
    {
        // Ordinal order: how SQLite's BINARY collation compares the credentials table's jti.
        var times = new[] { 0L, 1, 63, 64, 999, 1_000, 65_535, 86_400_000, 1L << 40 }
            .Select(ms => Start.AddMilliseconds(ms)).Prepend(DateTimeOffset.UnixEpoch).Append(DateTimeOffset.MaxValue).ToArray();
        var ids = times.Select(t => Ids.TimeOrdered(t)).ToArray();
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void TimeOrdered_IsUrlSafe_AndRandomAfterItsTime()
    {
        var ids = Enumerable.Range(0, 1_000).Select(_ => Ids.TimeOrdered(Start)).ToArray();
        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id =>
        {
            Assert.Equal(8 + 22, id.Length);
            Assert.Matches("^[A-Za-z0-9_-]+$", id);
            Assert.StartsWith(ids[0][..8], id, StringComparison.Ordinal);
            Assert.Equal(16, Base64Url.Decode(id[8..]).Length);
        });
    }

    [Fact]
    public void TimeOrdered_SameMillisecond_IsDifferent_NextMillisecond_SortsAfter()
    {
        var a = Ids.TimeOrdered(Start);
        var b = Ids.TimeOrdered(Start);
        var later = Ids.TimeOrdered(Start.AddMilliseconds(1));
        Assert.NotEqual(a, b);
        Assert.True(string.CompareOrdinal(later, a) > 0 && string.CompareOrdinal(later, b) > 0);
    }
}
