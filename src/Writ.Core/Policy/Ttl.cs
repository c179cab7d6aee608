using System.Globalization;

namespace Writ.Core.Policy;

/// <summary>Durations as written in policy: one or more <c>&lt;digits&gt;&lt;unit&gt;</c> parts with units <c>h</c>, <c>m</c>, <c>s</c> in that order (<c>15m</c>, <c>1h30m</c>).</summary>
internal static class Ttl
{
    private const long MaxSeconds = 100L * 365 * 24 * 3600;

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text.Length is 0 or > 32) return false;
        var lastUnitRank = -1;
        var i = 0;
        long totalSeconds = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start || i == text.Length || i - start > 9) return false;
            var number = long.Parse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture);
            var (rank, seconds) = text[i] switch
            {
                'h' => (0, 3600L),
                'm' => (1, 60L),
                's' => (2, 1L),
                _ => (-1, 0L),
            };
            if (rank <= lastUnitRank) return false;
            lastUnitRank = rank;
            totalSeconds += number * seconds;
            i++;
        }
        // Nine digits of hours are more seconds than a TimeSpan holds: such a duration is kept at a century, which every cap
        // refuses as too long (rather than the parse throwing).
        value = TimeSpan.FromSeconds(Math.Min(totalSeconds, MaxSeconds));
        return true;
    }

    /// <summary>The inverse of <see cref="TryParse"/>, used in messages and docs (<c>15m</c>, <c>1h30m</c>).</summary>
    public static string Format(TimeSpan ttl)
    {
        var seconds = (long)ttl.TotalSeconds;
        if (seconds <= 0) return "0s";
        var parts = "";
        if (seconds >= 3600) parts += $"{seconds / 3600}h";
        if (seconds % 3600 >= 60) parts += $"{seconds % 3600 / 60}m";
        if (seconds % 60 > 0) parts += $"{seconds % 60}s";
        return parts;
    }
}
