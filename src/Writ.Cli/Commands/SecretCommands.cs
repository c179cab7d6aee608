using System.CommandLine;
using System.Text;
using Writ.Client.Contracts;
using Writ.Core.Secrets;

namespace Writ.Cli.Commands;

/// <summary>
/// <c>writ secret put|rotate|list|show</c>: upstream secrets the gateway injects. A value is read from a file or
/// stdin, never from argv (which other users can read in the process list and which lands in shell history);
/// no command ever prints a value, only names and versions.
/// </summary>
internal static class SecretCommands
{
    public static Command Create()
    {
        var put = new Command("put", "store a new secret; the value is read from --file or stdin (never from argv)");
        var putName = NameArgument();
        var putFile = FileOption();
        put.Add(putName);
        put.Add(putFile);
        put.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(putName)!;
            var value = await ReadValueAsync(parse.GetValue(putFile), ct);
            var info = await CliContext.AdminClient().PutSecretAsync(name, value, ct);
            Console.WriteLine($"stored secret {info.Name} version {info.LatestVersion}");
            return 0;
        });

        var rotate = new Command("rotate", "store a new version of a secret (older versions are kept); the value is read from --file or stdin");
        var rotateName = NameArgument();
        var rotateFile = FileOption();
        rotate.Add(rotateName);
        rotate.Add(rotateFile);
        rotate.SetAction(async (parse, ct) =>
        {
            var name = parse.GetValue(rotateName)!;
            var value = await ReadValueAsync(parse.GetValue(rotateFile), ct);
            var info = await CliContext.AdminClient().RotateSecretAsync(name, value, ct);
            Console.WriteLine($"rotated secret {info.Name} to version {info.LatestVersion}");
            return 0;
        });

        var format = PolicyCommands.OutputOption();
        var list = new Command("list", "secrets by name with their versions (never their values)") { format };
        list.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var secrets = await CliContext.AdminClient().ListSecretsAsync(ct);
            Output.Write(fmt, secrets, ("name", s => s.Name), ("version", s => s.LatestVersion), ("created", s => s.CreatedAt), ("rotated", s => s.RotatedAt));
            return 0;
        });

        var showName = NameArgument();
        var show = new Command("show", "one secret's metadata and versions (never its value)") { showName };
        show.SetAction(async (parse, ct) =>
        {
            var s = await CliContext.AdminClient().GetSecretAsync(parse.GetValue(showName)!, ct);
            Print(s);
            return 0;
        });

        return new Command("secret", "upstream secrets the gateway injects (values are write-only)") { put, rotate, list, show };
    }

    private static Argument<string> NameArgument() => new("name") { Description = "secret name (letters, digits, '.', '_', '-')" };

    private static Option<string> FileOption() => new("--file") { Description = "read the value from this file (one trailing newline is dropped); stdin otherwise" };

    private static void Print(SecretInfo s)
    {
        Console.WriteLine($"name:     {s.Name}");
        Console.WriteLine($"version:  {s.LatestVersion}");
        Console.WriteLine($"created:  {Output.Text(s.CreatedAt)}");
        Console.WriteLine($"rotated:  {Output.Text(s.RotatedAt)}");
        foreach (var v in s.Versions) Console.WriteLine($"  v{v.Version}  {Output.Text(v.CreatedAt)}  by {v.CreatedBy}");
    }

    /// <summary>
    /// The value from <paramref name="file"/>, else from stdin (read without echo when stdin is a terminal).
    /// One trailing newline is dropped: <c>echo KEY &gt; file</c> and a pipe both add one that is not part of the secret.
    /// </summary>
    internal static async Task<string> ReadValueAsync(string? file, CancellationToken ct)
    {
        string text;
        if (file is not null)
        {
            try
            {
                if (new FileInfo(file).Length > SecretRules.MaxValueBytes + 2) throw new CliException($"{file} is larger than {SecretRules.MaxValueBytes} bytes");
                text = await File.ReadAllTextAsync(file, new UTF8Encoding(false, true), ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                throw new CliException($"cannot read the secret from {file}: {e.GetType().Name}");
            }
        }
        else if (Console.IsInputRedirected)
        {
            var buffer = new char[SecretRules.MaxValueBytes + 3];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await Console.In.ReadAsync(buffer.AsMemory(total), ct)) > 0) total += read;
            if (total == buffer.Length) throw new CliException($"the value on stdin is larger than {SecretRules.MaxValueBytes} bytes");
            text = new string(buffer, 0, total);
            Array.Clear(buffer);
        }
        else
        {
            text = ConsoleInput.ReadHiddenLine("secret value (not echoed): ");
        }
        if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('\n')) text = text[..^1];
        if (SecretRules.CheckValue(text) is { } bad) throw new CliException(bad.Message);
        return text;
    }
}
