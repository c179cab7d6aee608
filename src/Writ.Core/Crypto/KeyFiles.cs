using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Crypto;

/// <summary>
/// Files holding key material (the master key, the webhook signing key): created 0600 from the first byte,
/// refused when group or others may read them, base64 text inside.
/// </summary>
public static class KeyFiles
{
    /// <summary>Reads the base64 key in <paramref name="path"/>, refusing a file with permissions wider than 0600.</summary>
    /// <exception cref="InvalidOperationException">Permissions too wide, or not base64. The message says how to fix it.</exception>
    public static byte[] ReadPrivate(string path, string what)
    {
        var text = ReadPrivateText(path, what);
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The {what} file '{path}' does not hold a base64 key.");
        }
    }

    /// <summary>The trimmed text of <paramref name="path"/> (a token), refusing a file with permissions wider than 0600.</summary>
    /// <exception cref="InvalidOperationException">Permissions too wide. The message says how to fix it.</exception>
    public static string ReadPrivateText(string path, string what)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) != 0)
                throw new InvalidOperationException(
                    $"The {what} file '{path}' has permissions {Octal(mode)}; it must be readable by its owner only. Run: chmod 600 '{path}'");
        }
        return File.ReadAllText(path).Trim();
    }

    /// <summary>
    /// Writes <paramref name="key"/> as base64 to a new file created with mode 0600 (never wider; the umask can only
    /// narrow it), flushed to disk. Refuses to overwrite: losing a key loses what it protects. A missing parent
    /// directory is created 0700.
    /// </summary>
    public static void CreatePrivate(string path, ReadOnlySpan<byte> key) => CreatePrivateText(path, Convert.ToBase64String(key));

    /// <summary>As <see cref="CreatePrivate"/>, for a text secret (a token) written as is.</summary>
    public static void CreatePrivateText(string path, string secret)
    {
        using var stream = OpenPrivateNew(path);
        WriteText(stream, secret);
    }

    /// <summary>
    /// The new, empty file <see cref="CreatePrivateText"/> would write, created now (0600; a missing parent directory 0700):
    /// open it before asking for a secret that is shown once, so a path that cannot be written fails before it exists.
    /// </summary>
    public static FileStream OpenPrivateNew(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return new FileStream(path, options);
    }

    /// <summary>Writes <paramref name="secret"/> and a newline to a file from <see cref="OpenPrivateNew"/>, flushed to disk.</summary>
    public static void WriteText(FileStream stream, string secret)
    {
        var text = Encoding.UTF8.GetBytes(secret + "\n");
        stream.Write(text);
        stream.Flush(flushToDisk: true);
        CryptographicOperations.ZeroMemory(text);
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8);
}
