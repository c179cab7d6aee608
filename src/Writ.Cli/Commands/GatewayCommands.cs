using System.CommandLine;
using Writ.Core.Crypto;
using Writ.Server.GatewayHost;

namespace Writ.Cli.Commands;

/// <summary>
/// <c>writ gateway</c> runs the tool gateway on its own, following a Writ server; <c>writ gateway-token</c> is the
/// admin's side: mint, list and revoke the tokens gateways authenticate with.
/// </summary>
internal static class GatewayCommands
{
    private const string TokenVariable = "WRIT_GATEWAY_TOKEN";

    public static Command Run()
    {
        var server = new Option<string>("--server") { Description = "the Writ server to follow (https, or http on loopback); default WRIT_ADDR" };
        var urls = new Option<string>("--urls") { Description = "listen URLs, ';'-separated (default http://127.0.0.1:8431: loopback only)" };
        var publicUrl = new Option<string>("--public-url") { Description = "the URL agents call this gateway by (their DPoP proofs name it); default: the first --urls entry" };
        var tokenFile = new Option<string>("--token-file") { Description = $"file (0600) with the gateway token from `writ gateway-token create`; default: the {TokenVariable} environment variable" };
        var command = new Command("gateway", "run the tool gateway (/gw/RESOURCE/PATH) on its own: tokens verified offline, policy, liveness and secrets from the server, audit sent to it")
        {
            server, urls, publicUrl, tokenFile,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new WritGatewayOptions
            {
                Server = CliContext.ServerUri(parse.GetValue(server) ?? Environment.GetEnvironmentVariable("WRIT_ADDR") ?? "http://127.0.0.1:8430"),
                Token = ReadToken(parse.GetValue(tokenFile)),
                Urls = parse.GetValue(urls) ?? "http://127.0.0.1:8431",
                PublicUrl = parse.GetValue(publicUrl),
            };
            try
            {
                await WritGateway.RunAsync(options, ct);
            }
            catch (GatewayStartupException e)
            {
                throw new CliException("writ gateway: " + e.Message);
            }
            return 0;
        });
        return command;
    }

    private static string ReadToken(string? file)
    {
        if (file is null)
        {
            return Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } fromEnvironment
                ? fromEnvironment
                : throw new CliException($"no gateway token: pass --token-file FILE or set {TokenVariable} (an admin mints one with `writ gateway-token create NAME --out FILE`)");
        }
        if (!File.Exists(file)) throw new CliException($"no token file {file}");
        try
        {
            return KeyFiles.ReadPrivateText(file, "gateway token");
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(e.Message);
        }
    }

    public static Command Tokens()
    {
        var name = new Argument<string>("name") { Description = "the gateway's name, e.g. edge-1" };
        var output = new Option<string>("--out") { Description = "write the token to this new file (0600) instead of printing it" };
        var environment = new Option<string>("--environment")
        {
            Description = "the one environment the gateway serves: only its secrets, only its agents' tokens (recommended; default: every environment)",
        };
        var create = new Command("create", "mint a token for a standalone gateway; shown once, only its hash is stored") { name, output, environment };
        create.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(output);
            if (path is null)
            {
                Console.WriteLine((await CliContext.AdminClient().CreateGatewayTokenAsync(parse.GetValue(name)!, parse.GetValue(environment), ct)).Token);
                return 0;
            }
            if (File.Exists(path) || Directory.Exists(path)) throw new CliException($"{path} exists; the token is written to a new file only");
            // The file first: the token is shown once, so a path that cannot be written must fail before it is minted.
            var file = KeyFiles.OpenPrivateNew(path);
            Client.Contracts.GatewayTokenInfo minted;
            try
            {
                minted = await CliContext.AdminClient().CreateGatewayTokenAsync(parse.GetValue(name)!, parse.GetValue(environment), ct);
                KeyFiles.WriteText(file, minted.Token);
            }
            catch
            {
                await file.DisposeAsync();
                File.Delete(path);
                throw;
            }
            await file.DisposeAsync();
            Console.Error.WriteLine($"gateway token for {minted.Name} written to {path} (0600); run: writ gateway --token-file {path}");
            return 0;
        });

        var revokeName = new Argument<string>("name") { Description = "the gateway as `writ gateway-token list` names it: edge-1, or edge-1@staging" };
        var revoke = new Command("revoke", "revoke every token of a gateway: its next request to the server is refused, and it stops serving") { revokeName };
        revoke.SetAction(async (parse, ct) =>
        {
            var revoked = await CliContext.AdminClient().RevokeGatewayTokensAsync(parse.GetValue(revokeName)!, ct);
            Console.WriteLine($"{revoked.Name}: {revoked.Revoked} token(s) revoked");
            return 0;
        });

        var list = new Command("list", "gateways following this server: the feed version each has applied, when each last asked");
        list.SetAction(async (parse, ct) =>
        {
            foreach (var g in await CliContext.AdminClient().ListGatewaysAsync(ct))
                Console.WriteLine($"{g.Name}  applied {g.Applied}  seen {Output.Text(g.SeenAt)}");
            return 0;
        });
        return new Command("gateway-token", "tokens for standalone gateways (`writ gateway`)") { create, revoke, list };
    }
}
