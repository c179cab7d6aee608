using System.Globalization;

namespace Writ.Core.Common;

/// <summary>Durations as people write them in policy and on the command line: <c>90</c> (seconds), <c>30s</c>, <c>5m</c>, <c>8h</c>.</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 12) return false;
        var unit = text[^1];
        var (digits, scale) = unit switch
        {
            's' => (text[..^1], 1L),
            'm' => (text[..^1], 60L),
            'h' => (text[..^1], 3600L),
            _ when char.IsAsciiDigit(unit) => (text, 1L),
            _ => ("", 0L),
        };
        if (scale == 0 || digits.Length == 0 || !digits.All(char.IsAsciiDigit)) return false;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 10_000_000) return false;
        value = TimeSpan.FromSeconds(n * scale);
        return true;
    }

    /// <summary>The shortest exact form: <c>15m</c>, <c>8h</c>, <c>90s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        var seconds = (long)value.TotalSeconds;
        if (seconds % 3600 == 0) return $"{seconds / 3600}h";
        if (seconds % 60 == 0) return $"{seconds / 60}m";
        return $"{seconds}s";
    }
}
