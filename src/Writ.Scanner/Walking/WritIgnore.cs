using System.Text;
using System.Text.RegularExpressions;

namespace Writ.Scanner.Walking;

/// <summary>
/// <c>.writignore</c> at a scan root: gitignore-style path patterns (<c>*</c>, <c>**</c>, <c>?</c>, a leading
/// <c>/</c> anchors to the root, a trailing <c>/</c> matches directories only, <c>!</c> re-includes), plus
/// accepted findings as <c>fingerprint:&lt;16 hex&gt;</c> or <c>rule:&lt;rule-id&gt;</c> (optionally
/// <c>rule:&lt;id&gt; path-pattern</c>). Lines starting with <c>#</c> are comments.
/// </summary>
public sealed class WritIgnore
{
    private readonly List<(Regex Pattern, bool DirOnly, bool Negate)> _paths = [];
    private readonly HashSet<string> _fingerprints = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(string Rule, Regex? Path)> _rules = [];

    public static WritIgnore Empty { get; } = new();

    public static WritIgnore Parse(string content)
    {
        var w = new WritIgnore();
        foreach (var raw in content.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            if (line.StartsWith("fingerprint:", StringComparison.OrdinalIgnoreCase)) { w._fingerprints.Add(line[12..].Trim()); continue; }
            if (line.StartsWith("rule:", StringComparison.OrdinalIgnoreCase))
            {
                var parts = line[5..].Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length > 0) w._rules.Add((parts[0], parts.Length > 1 ? Glob(parts[1]).Pattern : null));
                continue;
            }
            var negate = line[0] == '!';
            if (negate) line = line[1..];
            var (re, dirOnly) = Glob(line);
            w._paths.Add((re, dirOnly, negate));
        }
        return w;
    }

    public static WritIgnore Load(string root)
    {
        var file = Path.Combine(root, ".writignore");
        return File.Exists(file) ? Parse(File.ReadAllText(file)) : Empty;
    }

    /// <summary>True if <paramref name="relativePath"/> (forward slashes) is excluded.</summary>
    public bool IsIgnored(string relativePath, bool isDirectory)
    {
        var ignored = false;
        foreach (var (re, dirOnly, negate) in _paths)
        {
            if (dirOnly && !isDirectory) continue;
            if (re.IsMatch(relativePath)) ignored = !negate;
        }
        return ignored;
    }

    public bool IsAccepted(Finding f)
    {
        if (_fingerprints.Contains(f.Fingerprint)) return true;
        foreach (var (rule, path) in _rules)
            if (string.Equals(rule, f.RuleId, StringComparison.Ordinal) && (path is null || path.IsMatch(f.Path))) return true;
        return false;
    }

    private static (Regex Pattern, bool DirOnly) Glob(string pattern)
    {
        var dirOnly = pattern.EndsWith('/');
        pattern = pattern.TrimEnd('/');
        var anchored = pattern.StartsWith('/') || pattern.TrimStart('/').Contains('/');
        pattern = pattern.TrimStart('/');
        var sb = new StringBuilder(anchored ? "^" : "(^|/)");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/') { i++; sb.Append("(.*/)?"); }
                else sb.Append(".*");
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        sb.Append("(/.*)?$");
        return (new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking), dirOnly);
    }
}
