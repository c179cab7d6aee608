using System.Text;

namespace Writ.Cli.Commands;

/// <summary>Reading what must never be in argv (passwords, secrets, tokens): from a pipe, or from the terminal without echo.</summary>
internal static class ConsoleInput
{
    /// <summary>One line from the terminal, not echoed. Backspace edits; Enter ends.</summary>
    public static string ReadHiddenLine(string prompt)
    {
        Console.Error.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; continue; }
            sb.Append(key.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }

    /// <summary>The first line of stdin when it is a pipe, else a hidden line typed at <paramref name="prompt"/>.</summary>
    public static async Task<string> ReadSecretLineAsync(string prompt, CancellationToken ct)
    {
        if (!Console.IsInputRedirected) return ReadHiddenLine(prompt);
        var line = await Console.In.ReadLineAsync(ct);
        return line?.TrimEnd('\r') ?? "";
    }
}
