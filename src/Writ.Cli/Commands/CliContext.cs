using System.Text.Json;
using Writ.Client.Http;

namespace Writ.Cli.Commands;

/// <summary>A problem the user can fix; printed as one line on stderr with exit code 2 (or <see cref="ExitCode"/>).</summary>
internal sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Where the CLI finds the server and the admin token: flags, then WRIT_ADDR / WRIT_TOKEN, then the
/// file <c>writ login</c> wrote (0600 under the user's config directory).
/// </summary>
internal static class CliContext
{
    public static string ConfigDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "writ");

    public static string LoginFile => Path.Combine(ConfigDirectory, "cli.json");

    public sealed record Login(string Addr, string Token);

    public static (Uri Addr, string Token) Admin()
    {
        var addr = Environment.GetEnvironmentVariable("WRIT_ADDR");
        var token = Environment.GetEnvironmentVariable("WRIT_TOKEN");
        if ((addr is null || token is null) && File.Exists(LoginFile))
        {
            var saved = ReadLogin();
            addr ??= saved?.Addr;
            token ??= saved?.Token;
        }
        if (string.IsNullOrEmpty(token))
            throw new CliException("no admin token: set WRIT_ADDR and WRIT_TOKEN, or run `writ login --addr URL` (the token is read from stdin)");
        return (ServerUri(addr ?? "http://127.0.0.1:8430"), token);
    }

    private static Login? ReadLogin()
    {
        try
        {
            return JsonSerializer.Deserialize<Login>(File.ReadAllText(LoginFile), WritJson.Options);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            var why = e is JsonException ? "it is not the JSON `writ login` writes" : e.Message;
            throw new CliException($"the saved login {LoginFile} cannot be read ({why}): run `writ login --addr URL` again, or set WRIT_ADDR and WRIT_TOKEN");
        }
    }

    public static Uri ServerUri(string addr)
    {
        if (!Uri.TryCreate(addr.EndsWith('/') ? addr : addr + "/", UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new CliException($"'{addr}' is not an http(s) URL for the Writ server");
        return uri;
    }

    public static WritAdminClient AdminClient()
    {
        var (addr, token) = Admin();
        return new WritAdminClient(new HttpClient(), addr, token);
    }

    public static void SaveLogin(string addr, string token)
    {
        Directory.CreateDirectory(ConfigDirectory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ConfigDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var json = JsonSerializer.Serialize(new Login(addr, token), WritJson.Options);
        // A write that fails half way leaves the previous login, not half a file.
        AtomicFile.WriteAsync(LoginFile, writer => writer.WriteAsync(json), ownerOnly: true).GetAwaiter().GetResult();
    }
}
