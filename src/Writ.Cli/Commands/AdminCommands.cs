using System.CommandLine;

namespace Writ.Cli.Commands;

internal static class AdminCommands
{
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
