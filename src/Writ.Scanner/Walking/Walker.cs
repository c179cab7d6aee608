using System.IO.Enumeration;

namespace Writ.Scanner.Walking;

internal readonly record struct WalkItem(string FullPath, string DisplayPath, long Length);

/// <summary>
/// Enumerates the files under a root. Scans what git ignores (a gitignored <c>.env</c> is exactly what an
/// agent reads) but never descends into <c>.git</c>, vendored dependency folders (unless asked) or through a
/// symlinked directory, and only reads a symlinked file whose target is inside the root.
/// </summary>
internal static class Walker
{
    private static readonly HashSet<string> AlwaysSkipped = new(StringComparer.Ordinal) { ".git", ".hg", ".svn" };

    private static readonly HashSet<string> Vendored = new(StringComparer.Ordinal)
    {
        "node_modules", "bower_components", "jspm_packages", "vendor", ".venv", "venv", "site-packages", "__pycache__", ".tox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "Pods", ".terraform", ".gradle", ".nuget", ".pnpm-store", ".yarn",
    };

    private static readonly HashSet<string> BinaryExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tiff", ".psd", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz",
        ".7z", ".rar", ".jar", ".war", ".ear", ".class", ".dll", ".exe", ".so", ".dylib", ".a", ".o", ".obj", ".lib", ".pyc",
        ".pyo", ".whl", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".mov", ".avi", ".mkv", ".wav", ".flac",
        ".ogg", ".webm", ".sqlite", ".sqlite3", ".db", ".bin", ".iso", ".dmg", ".nupkg", ".snupkg", ".pack", ".idx", ".pdb",
    };

    public static bool IsBinaryExtension(string path) => BinaryExtensions.Contains(Path.GetExtension(path));

    public static IEnumerable<WalkItem> Enumerate(string root, string display, ScanOptions options, WritIgnore ignore, Action<string> onIgnored)
    {
        var rootFull = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        var prefix = display is "." or "./" ? "" : display.TrimEnd('/', '\\') + "/";
        string Rel(string full) => full.Length > rootFull.Length ? full[(rootFull.Length + 1)..].Replace('\\', '/') : "";

        var e = new FileSystemEnumerable<WalkItem?>(rootFull,
            (ref FileSystemEntry entry) =>
            {
                var full = entry.ToFullPath();
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    // A symlinked file is read only if it resolves inside the root.
                    try
                    {
                        var target = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true);
                        if (target is not FileInfo fi || !fi.Exists || !fi.FullName.StartsWith(rootFull + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                            return null;
                        return new WalkItem(fi.FullName, prefix + Rel(full), fi.Length);
                    }
                    catch (IOException) { return null; }
                    catch (UnauthorizedAccessException) { return null; }
                }
                return new WalkItem(full, prefix + Rel(full), entry.Length);
            },
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false })
        {
            ShouldRecursePredicate = (ref FileSystemEntry entry) =>
            {
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0) return false;
                var name = entry.FileName.ToString();
                if (AlwaysSkipped.Contains(name)) return false;
                if (!options.IncludeVendored && Vendored.Contains(name)) return false;
                var rel = Rel(entry.ToFullPath());
                if (ignore.IsIgnored(rel, isDirectory: true)) { onIgnored(rel); return false; }
                return true;
            },
            ShouldIncludePredicate = (ref FileSystemEntry entry) =>
            {
                if (entry.IsDirectory) return false;
                var rel = Rel(entry.ToFullPath());
                if (ignore.IsIgnored(rel, isDirectory: false)) { onIgnored(rel); return false; }
                return true;
            },
        };
        foreach (var item in e)
            if (item is { } i) yield return i;
    }
}
