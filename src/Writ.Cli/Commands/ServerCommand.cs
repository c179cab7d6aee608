using System.CommandLine;
using Writ.Server.Hosting;

namespace Writ.Cli.Commands;

internal static class ServerCommand
{
    public static Command Create()
    {
        var dev = new Option<bool>("--dev") { Description = "create what is missing in the data directory (SQLite file, master key, signing key, demo policy) and print a one-time admin token" };
        var data = new Option<string>("--data") { Description = "data directory (default: ./.writ with --dev, else required)" };
        var urls = new Option<string>("--urls") { Description = "listen URLs, ';'-separated (default http://127.0.0.1:8430: loopback only)" };
        var db = new Option<string>("--db") { Description = "storage: sqlite:PATH or postgres:CONNECTION-STRING (default: SQLite in the data directory)" };
        var policy = new Option<string>("--policy") { Description = "policy file or directory to apply at start when none is stored yet" };
        var issuer = new Option<string>("--issuer") { Description = "public URL of this server (tokens' iss; DPoP htu base); default: the first --urls entry" };
        var masterKey = new Option<string>("--master-key") { Description = "master key file (0600); default DATA/master.key" };
        var reset = new Option<bool>("--reset-admin-token") { Description = "with --dev: mint a new admin token, revoke every earlier one, and print it once" };
        var webhook = new Option<string[]>("--webhook") { Description = "URL to notify of approval requests and decisions (Slack incoming webhooks work as is); repeatable" };
        var webhookKey = new Option<string>("--webhook-key") { Description = "file (0600, base64) with the key that signs webhook bodies; default DATA/webhook.key, made on first start" };
        var command = new Command("server", "run the Writ server (broker API, OAuth endpoints, audit)") { dev, data, urls, db, policy, issuer, masterKey, reset, webhook, webhookKey };
        command.SetAction(async (parse, ct) =>
        {
            var isDev = parse.GetValue(dev);
            var dataDir = parse.GetValue(data) ?? (isDev ? Path.Combine(Environment.CurrentDirectory, ".writ") : null)
                ?? throw new CliException("--data DIR is required without --dev");
            var options = new WritServerOptions
            {
                DataDirectory = Path.GetFullPath(dataDir),
                Dev = isDev,
                Urls = parse.GetValue(urls) ?? "http://127.0.0.1:8430",
                Database = parse.GetValue(db),
                InitialPolicyPath = parse.GetValue(policy),
                Issuer = parse.GetValue(issuer),
                MasterKeyPath = parse.GetValue(masterKey),
                ResetAdminToken = parse.GetValue(reset),
                WebhookUrls = (parse.GetValue(webhook) ?? []).Select(WebhookUri).ToArray(),
                WebhookKeyPath = parse.GetValue(webhookKey),
            };
            try
            {
                await WritServer.RunAsync(options, ct);
            }
            catch (WritStartupException e)
            {
                throw new CliException("writ server: " + e.Message);
            }
            return 0;
        });
        return command;
    }

    private static Uri WebhookUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https")
            ? uri
            : throw new CliException($"--webhook '{text}' is not an http(s) URL");
}
