using System.Text;
using System.Security.Cryptography;
using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Writ.Client.Http;
using Writ.Core.Policy;

namespace Writ.Cli.Commands;

/// <summary>
/// <c>writ exec --task "…" --scope crm:read [--scope …] -- CMD ARGS</c>: opens a task, runs a loopback-only proxy that
/// attaches a fresh DPoP-bound credential to each request and forwards it to the gateway, runs CMD with
/// <c>WRIT_&lt;RESOURCE&gt;_URL</c> pointing at the proxy (no token or secret in its environment or argv), passes its
/// exit code through, and completes the task — revoking everything issued under it — when CMD exits, crashes or is
/// interrupted (see <see cref="ExecSignals"/>).
/// </summary>
internal static class ExecCommand
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate",
        "Proxy-Authorization", "Host", "Authorization", "DPoP", "Content-Length", "Expect",
    };

    /// <summary>Variables a child never inherits from writ: they would hand it operator or agent credentials.</summary>
    private static readonly string[] Withheld = ["WRIT_TOKEN", "WRIT_KEY_FILE"];

    public static Command Create()
    {
        var purpose = new Option<string>("--task") { Description = "what the task is for; a task is opened for the command and completed when it ends", Required = true };
        var scopes = new Option<string[]>("--scope") { Description = "resource:action, repeatable (e.g. --scope crm:read)", Required = true };
        var target = new Option<string>("--target") { Description = "what the credentials may touch, e.g. customers/12345" };
        var agent = new Option<string>("--agent") { Description = "enrolled agent id (default: WRIT_AGENT, or the only agent enrolled here)" };
        var gateway = new Option<string>("--gateway") { Description = "a standalone gateway (`writ gateway`) to call the tools through; default WRIT_GATEWAY, else the server's own /gw/" };
        var command = new Argument<string[]>("command") { Description = "the command and its arguments, after --", Arity = ArgumentArity.OneOrMore };
        var exec = new Command("exec", "run a command with task-scoped tool access through the gateway; everything is revoked when it exits") { purpose, scopes, target, agent, gateway, command };
        exec.SetAction(async (parse, _) =>
        {
            // Signals are writ's own business here (Program leaves exec out of System.CommandLine's handling, which
            // would end the process two seconds after a signal, leaving the command running and the task open).
            using var signals = new ExecSignals();
            var ct = signals.Startup;
            var byResource = GroupScopes(parse.GetValue(scopes)!);
            var client = AgentIdentity.Connect(parse.GetValue(agent));
            var gatewayAddress = parse.GetValue(gateway) ?? Environment.GetEnvironmentVariable("WRIT_GATEWAY");
            var gatewayRoot = string.IsNullOrEmpty(gatewayAddress) ? client.Server : CliContext.ServerUri(gatewayAddress);
            var task = await client.StartTaskAsync(parse.GetValue(purpose)!, ct: ct);
            try
            {
                var t = parse.GetValue(target);
                // Fail before running anything if policy refuses one of the scopes.
                foreach (var (_, scope) in byResource) await client.GetCredentialAsync(scope, task.Id, t, ct: ct);
                // A random path prefix only the child learns (from its environment): another local user or
                // process that finds the loopback port cannot borrow the task's authority.
                var capability = Writ.Core.Common.Ids.Random(24);
                await using var proxy = await StartProxyAsync(client, gatewayRoot, byResource, task.Id, t, capability);
                ct.ThrowIfCancellationRequested();
                return await RunAsync(parse.GetValue(command)!, byResource.Keys, proxy.Port, capability, signals);
            }
            finally
            {
                try
                {
                    await client.CompleteTaskAsync(task.Id, CancellationToken.None);
                }
                catch (Exception e) when (e is HttpRequestException or WritApiException)
                {
                    Console.Error.WriteLine($"writ: could not complete task {task.Id} ({e.GetType().Name}); its credentials expire on their own");
                }
            }
        });
        return exec;
    }

    private static Dictionary<string, string> GroupScopes(string[] scopes)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var s in scopes)
        {
            var parsed = Scopes.Parse(s);
            if (!parsed.IsSuccess) throw new CliException(parsed.Error!.Message);
            foreach (var (resource, action) in parsed.Value)
            {
                if (!result.TryGetValue(resource, out var list)) result[resource] = list = [];
                list.Add(resource + ":" + action);
            }
        }
        return result.ToDictionary(r => r.Key, r => string.Join(' ', r.Value.Distinct()), StringComparer.Ordinal);
    }

    public static string VariableFor(string resource) =>
        "WRIT_" + new string(resource.ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray()) + "_URL";

    private static async Task<int> RunAsync(string[] command, IEnumerable<string> resources, int port, string capability, ExecSignals signals)
    {
        var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var name in Withheld) psi.Environment.Remove(name);
        foreach (var r in resources) psi.Environment[VariableFor(r)] = $"http://127.0.0.1:{port}/{capability}/{r}";
        Process process;
        signals.Starting();
        try
        {
            process = Process.Start(psi) ?? throw new CliException($"cannot start {command[0]}", 127);
        }
        catch (Win32Exception)
        {
            throw new CliException($"cannot start {command[0]}: not found or not executable", 127);
        }
        // From here a signal to writ goes to the child; writ stays to close the task once the child has gone.
        using (process)
        {
            signals.Attach(process);
            await process.WaitForExitAsync(CancellationToken.None);
            return process.ExitCode;
        }
    }

    private sealed class Proxy(WebApplication app, int port) : IAsyncDisposable
    {
        public int Port { get; } = port;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>Loopback only: <c>http://127.0.0.1:PORT/{capability}/{resource}/{path}</c> → <c>{gateway}/gw/{resource}/{path}</c> with a fresh proof.</summary>
    private static async Task<Proxy> StartProxyAsync(WritAgentClient client, Uri gatewayRoot, Dictionary<string, string> scopes, string taskId, string? target, string capability)
    {
        // No configuration reload: it would watch the working directory (the agent's workspace) recursively.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var boundPort = 0;
        var http = new HttpMessageInvoker(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false, AutomaticDecompression = DecompressionMethods.None });
        app.Run(async context =>
        {
            // A web page that rebinds its DNS name to 127.0.0.1 would send its own Host: refuse anything but ours.
            if (context.Request.Host.Value != $"127.0.0.1:{boundPort}")
            {
                context.Response.StatusCode = 403;
                return;
            }
            var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToUriComponent();
            var end = raw.IndexOf('/', 1);
            var presented = end < 0 ? raw.AsSpan(1) : raw.AsSpan(1, end - 1);
            if (!raw.StartsWith('/') || end < 0 ||
                !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented.ToString()), Encoding.ASCII.GetBytes(capability)))
            {
                context.Response.StatusCode = 403;
                await context.Response.WriteAsync("writ exec: this proxy serves only the command writ started\n");
                return;
            }
            raw = raw[end..];
            var slash = raw.IndexOfAny(['/', '?'], 1);
            var resource = slash < 0 ? raw[1..] : raw[1..slash];
            if (!scopes.TryGetValue(resource, out var scope))
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync($"writ exec: no scope for '{resource}' in this task\n");
                return;
            }
            var rest = slash < 0 ? "" : raw[slash..];
            Credential credential;
            try
            {
                credential = await client.GetCredentialAsync(scope, taskId, target, ct: context.RequestAborted);
            }
            catch (Exception e) when (e is WritApiException or HttpRequestException)
            {
                // The command sees why, never a token: the server's stable code, or that it could not be reached.
                context.Response.StatusCode = 502;
                await context.Response.WriteAsync($"writ exec: no credential for {scope}: {(e is WritApiException api ? api.Code : "the Writ server could not be reached")}\n");
                return;
            }
            // Dot segments (plain, encoded or with backslashes) must not climb out of the gateway: a proof signed
            // for /oauth/token or /api/agent/tasks would hand the command the agent's own authority.
            var gatewayBase = new Uri(gatewayRoot, "gw/" + Uri.EscapeDataString(resource) + "/");
            var targetUri = new Uri(gatewayRoot, "gw/" + resource + rest);
            if (rest.Contains('\\') || rest.Contains("%5c", StringComparison.OrdinalIgnoreCase) || rest.Contains("%2e", StringComparison.OrdinalIgnoreCase) ||
                !(targetUri.AbsolutePath + "/").StartsWith(gatewayBase.AbsolutePath, StringComparison.Ordinal))
            {
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("writ exec: the path must stay under the tool's URL (no dot segments or backslashes)\n");
                return;
            }
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), targetUri);
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                request.Content = new StreamContent(context.Request.Body);
                if (context.Request.ContentLength is { } length) request.Content.Headers.ContentLength = length;
            }
            foreach (var (name, values) in context.Request.Headers)
            {
                if (HopByHop.Contains(name)) continue;
                if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values)) request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
            client.Authorize(request, credential);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, context.RequestAborted);
            }
            catch (HttpRequestException)
            {
                context.Response.StatusCode = 502;
                await context.Response.WriteAsync("writ exec: the Writ gateway could not be reached\n");
                return;
            }
            using var _ = response;
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                if (HopByHop.Contains(header.Key)) continue;
                context.Response.Headers[header.Key] = new StringValues(header.Value.ToArray());
            }
            if (response.Content.Headers.ContentLength is { } responseLength) context.Response.ContentLength = responseLength;
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        boundPort = new Uri(address).Port;
        return new Proxy(app, boundPort);
    }
}
