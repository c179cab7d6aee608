namespace Writ.Server.Mcp;

/// <summary>
/// Turns a path an agent put in a tool argument into the one real path it names, so a policy glob is matched against
/// what the downstream will actually open: absolute only (no <c>~</c>, no relative paths whose meaning depends on the
/// downstream's cwd), no NUL, <c>.</c>/<c>..</c> collapsed, and every symlink along the existing part resolved to its
/// final target (a link inside the allowed root that points outside it is judged by where it points). The part that
/// does not exist yet (a file about to be written) is kept as written after the resolved parent.
/// </summary>
internal static class McpPaths
{
    private const int MaxLinks = 40;

    public static string? Normalise(string raw, out string? error)
    {
        error = null;
        if (raw.Length is 0 or > 4096 || raw.Contains('\0'))
        {
            error = "the path is empty, too long or contains NUL";
            return null;
        }
        if (!raw.StartsWith('/'))
        {
            error = "the path must be absolute (start with '/')";
            return null;
        }
        var path = Path.GetFullPath(raw);
        for (var hops = 0; hops < MaxLinks; hops++)
        {
            var (resolved, changed) = ResolveOnce(path);
            if (!changed) return resolved;
            path = resolved;
        }
        error = "the path has too many levels of symbolic links";
        return null;
    }

    /// <summary>Finds the first symlink along <paramref name="path"/> and replaces that prefix with its target.</summary>
    private static (string Path, bool Changed) ResolveOnce(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (!info.Exists && info.LinkTarget is null) return (path, false); // the rest does not exist yet
            if (info.LinkTarget is { } target)
            {
                var absolute = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
                var rest = string.Join('/', parts.Skip(i + 1));
                return (Path.GetFullPath(rest.Length == 0 ? absolute : Path.Combine(absolute, rest)), true);
            }
            current = next;
        }
        return (path, false);
    }
}
