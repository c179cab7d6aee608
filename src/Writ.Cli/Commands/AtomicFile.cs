namespace Writ.Cli.Commands;

/// <summary>
/// Writes a file beside its target and moves it over the target once complete: a refusal, an error or Ctrl+C half way
/// leaves the earlier file as it was, never a truncated one that reads as whole.
/// </summary>
internal static class AtomicFile
{
    /// <param name="ownerOnly">Create it 0600 (it holds a credential).</param>
    public static async Task WriteAsync(string path, Func<TextWriter, Task> write, bool ownerOnly = false)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliException($"{path} is a directory: name the file to write");
        var pending = full + "." + Environment.ProcessId + ".pending";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            await using (var writer = new StreamWriter(new FileStream(pending, options))) await write(writer);
            File.Move(pending, full, overwrite: true);
        }
        finally
        {
            File.Delete(pending);
        }
    }
}
