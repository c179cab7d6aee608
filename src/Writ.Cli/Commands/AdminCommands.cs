using System.CommandLine;

namespace Writ.Cli.Commands;

internal static class AdminCommands
{
    public static Command Login()
    {
        var addr = new Option<string>("--addr") { Description = "server URL", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WRIT_ADDR") ?? "http://127.0.0.1:8430" };
        var command = new Command("login", "save the server address and an admin token (read from stdin, never from argv) for later commands") { addr };
        command.SetAction(async (parse, ct) =>
        {
            var address = CliContext.ServerUri(parse.GetValue(addr)!).ToString().TrimEnd('/');
            if (!Console.IsInputRedirected) Console.Error.Write("admin token: ");
            var token = (await Console.In.ReadLineAsync(ct))?.Trim();
            if (string.IsNullOrEmpty(token)) throw new CliException("no token on stdin");
            var client = new Client.Http.WritAdminClient(new HttpClient(), CliContext.ServerUri(address), token);
            await client.ListSigningKeysAsync(ct); // proves the token works before saving it
            CliContext.SaveLogin(address, token);
            Console.WriteLine($"logged in to {address}; saved to {CliContext.LoginFile} (mode 0600)");
            return 0;
        });
        return command;
    }

    public static Command Keys()
    {
        var rotate = new Command("rotate", "make a new signing key; the previous one keeps verifying until every token it signed has expired");
        rotate.SetAction(async (parse, ct) =>
        {
            var keys = await CliContext.AdminClient().RotateSigningKeyAsync(ct);
            foreach (var k in keys) Console.WriteLine($"{k.KeyId}  created {Output.Text(k.CreatedAt)}  {(k.Active ? "active" : k.RetiredAt is null ? "" : "retired " + Output.Text(k.RetiredAt))}");
            return 0;
        });
        var list = new Command("list", "signing keys");
        list.SetAction(async (parse, ct) =>
        {
            var keys = await CliContext.AdminClient().ListSigningKeysAsync(ct);
            foreach (var k in keys) Console.WriteLine($"{k.KeyId}  created {Output.Text(k.CreatedAt)}  {(k.Active ? "active" : k.RetiredAt is null ? "" : "retired " + Output.Text(k.RetiredAt))}");
            return 0;
        });
        return new Command("keys", "token signing keys") { rotate, list };
    }

    public static Command Credential()
    {
        var jti = new Argument<string>("jti");
        var revoke = new Command("revoke", "revoke one credential by its id (jti), effective at once") { jti };
        revoke.SetAction(async (parse, ct) =>
        {
            var c = await CliContext.AdminClient().RevokeCredentialAsync(parse.GetValue(jti)!, ct);
            Console.WriteLine($"{c.Jti} revoked ({c.AgentId}, {c.Scope}, task {c.TaskId})");
            return 0;
        });
        return new Command("credential", "issued credentials") { revoke };
    }
}
