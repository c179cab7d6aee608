namespace Writ.Core.Policy;

/// <summary>
/// A role's target glob: <c>*</c> matches any run of characters within one <c>/</c>-separated segment,
/// <c>**</c> matches any run including <c>/</c>; every other character is literal. Matching simulates the
/// pattern as an automaton (O(pattern × target), no backtracking, no allocation), so a hostile pattern or
/// target cannot make evaluation slow.
/// </summary>
internal sealed class TargetPattern
{
    public const int MaxPatternLength = 256;
    public const int MaxTargetLength = 512;

    private const char StarToken = '\uE000';
    private const char DoubleStarToken = '\uE001';

    private readonly string _tokens;

    private TargetPattern(string text, string tokens)
    {
        Text = text;
        _tokens = tokens;
    }

    public string Text { get; }

    /// <summary>Returns null and a reason when <paramref name="pattern"/> is not a usable glob.</summary>
    public static TargetPattern? TryCreate(string pattern, out string? error)
    {
        error = null;
        if (pattern.Length == 0) error = "a target pattern cannot be empty";
        else if (pattern.Length > MaxPatternLength) error = $"a target pattern is at most {MaxPatternLength} characters";
        else if (pattern.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is StarToken or DoubleStarToken)) error = "a target pattern cannot contain spaces or control characters";
        else if (pattern.Contains("***", StringComparison.Ordinal)) error = "use '*' (within a segment) or '**' (across segments), not '***'";
        if (error is not null) return null;

        var tokens = new System.Text.StringBuilder(pattern.Length);
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                tokens.Append(DoubleStarToken);
                i++;
            }
            else
            {
                tokens.Append(pattern[i] == '*' ? StarToken : pattern[i]);
            }
        }
        return new TargetPattern(pattern, tokens.ToString());
    }

    public bool IsMatch(ReadOnlySpan<char> target)
    {
        var m = _tokens.Length;
        Span<bool> current = stackalloc bool[m + 1];
        Span<bool> next = stackalloc bool[m + 1];
        current[0] = true;
        Close(current);
        foreach (var c in target)
        {
            next.Clear();
            var any = false;
            for (var i = 0; i < m; i++)
            {
                if (!current[i]) continue;
                var t = _tokens[i];
                if (t == DoubleStarToken || (t == StarToken && c != '/'))
                {
                    next[i] = true;
                    any = true;
                }
                else if (t == c)
                {
                    next[i + 1] = true;
                    any = true;
                }
            }
            if (!any) return false;
            Close(next);
            var swap = current;
            current = next;
            next = swap;
        }
        return current[m];
    }

    /// <summary>A star may match nothing: from a star state the state after it is reachable too.</summary>
    private void Close(Span<bool> states)
    {
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (states[i] && _tokens[i] is StarToken or DoubleStarToken) states[i + 1] = true;
        }
    }

    /// <summary>
    /// A request target must be a concrete name: no wildcards (a literal <c>*</c> could read as "all" downstream,
    /// defeating <c>no-bulk</c>), no empty, <c>.</c> or <c>..</c> segments (path traversal), no spaces or control characters.
    /// </summary>
    public static bool IsValidTarget(string target)
    {
        if (target.Length == 0 || target.Length > MaxTargetLength) return false;
        foreach (var c in target)
        {
            // Invisible formatting (bidi overrides, zero-width) would show an approver one target and grant another.
            if (c == '*' || char.IsControl(c) || char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format) return false;
        }
        foreach (var range in target.AsSpan().Split('/'))
        {
            var segment = target.AsSpan(range);
            if (segment.IsEmpty || segment is "." || segment is "..") return false;
        }
        return true;
    }
}
