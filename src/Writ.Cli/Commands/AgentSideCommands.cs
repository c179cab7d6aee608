using System.CommandLine;
using System.Text.Json;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Client.Keys;

namespace Writ.Cli.Commands;

/// <summary>
/// An enrolled agent on its machine: its key file (under the user's config directory, never the
/// working directory an agent reads) holds the private key, the agent id and the server URL.
/// </summary>
internal static class AgentIdentity
{
    /// <summary>The key named by --key-file / WRIT_KEY_FILE, else --agent / WRIT_AGENT's default path, else the only key enrolled here.</summary>
    public static WritAgentClient Connect(string? agentId, string? keyFile = null)
    {
        var path = keyFile ?? Environment.GetEnvironmentVariable(AgentKeyPair.KeyFileVariable) ?? PathFor(agentId ?? Environment.GetEnvironmentVariable("WRIT_AGENT"));
        if (!File.Exists(path)) throw new CliException($"no agent key at {path}: run `writ enroll --agent NAME@ENV --code CODE` first");
        AgentKeyPair key;
        try
        {
            key = AgentKeyPair.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException or JsonException or System.Security.Cryptography.CryptographicException)
        {
            throw new CliException($"cannot load the agent key {path}: {e.Message}");
        }
        if (key.AgentId is null || key.ServerUrl is null) throw new CliException($"{path} does not say which agent and server it belongs to; enroll again");
        return new WritAgentClient(new HttpClient(), CliContext.ServerUri(key.ServerUrl), key.AgentId, key);
    }

    private static string PathFor(string? agentId)
    {
        if (agentId is not null) return AgentKeyPair.DefaultPath(agentId);
        var directory = Path.GetDirectoryName(AgentKeyPair.DefaultPath("agent@env"))!;
        var all = Directory.Exists(directory) ? Directory.GetFiles(directory, "*.json") : [];
        return all.Length switch
        {
            1 => all[0],
            0 => throw new CliException("this machine has no enrolled agent: run `writ enroll --agent NAME@ENV --code CODE` first"),
            _ => throw new CliException("several agents are enrolled here: name one with --agent or WRIT_AGENT"),
        };
    }
}

/// <summary>The commands an agent runs on its own machine: enroll, open/complete tasks, get credentials.</summary>
internal static class AgentSideCommands
{
    private static Option<string> AgentOption() => new("--agent") { Description = "enrolled agent id (default: WRIT_AGENT, or the only agent enrolled here)" };

    public static Command Enroll()
    {
        var agent = new Option<string>("--agent") { Description = "agent id, name@environment", Required = true };
        var code = new Option<string>("--code") { Description = "one-time enrollment code (writ agent enroll-code)", Required = true };
        var server = new Option<string>("--server") { Description = "Writ server URL", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WRIT_ADDR") ?? "http://127.0.0.1:8430" };
        var keyFile = new Option<string>("--key-file") { Description = "where to keep the private key (default: under the user's config directory, never the working directory)" };
        var command = new Command("enroll", "make a P-256 key pair for this agent outside the workspace and register its public key") { agent, code, server, keyFile };
        command.SetAction(async (parse, ct) =>
        {
            var agentId = parse.GetValue(agent)!;
            if (!Writ.Core.Agents.AgentId.IsValid(agentId)) throw new CliException($"'{agentId}' is not an agent id of the form name@environment");
            var serverUri = CliContext.ServerUri(parse.GetValue(server)!);
            var path = parse.GetValue(keyFile) ?? Environment.GetEnvironmentVariable("WRIT_KEY_FILE") ?? AgentKeyPair.DefaultPath(agentId);
            if (string.IsNullOrWhiteSpace(path)) throw new CliException("--key-file (or WRIT_KEY_FILE) is empty: name the file to keep the key in");
            using var key = AgentKeyPair.Generate(agentId, serverUri.ToString().TrimEnd('/'));
            var fullPath = Path.GetFullPath(path);
            // The final move must not fail after the code is spent: a directory there would refuse it.
            if (Directory.Exists(fullPath)) throw new CliException($"{path} is a directory: name the file to keep the key in; nothing was enrolled");
            // Save (to a pending file) before enrolling: a key that cannot be kept, e.g. refused inside the
            // workspace, must not burn the one-time code; a failed enrollment must not touch an existing key.
            var pending = fullPath + ".pending";
            try
            {
                if (File.Exists(pending)) File.Delete(pending);
                key.SaveTo(pending);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                throw new CliException($"the key cannot be saved, nothing was enrolled: {e.Message}");
            }
            EnrollResponse enrolled;
            try
            {
                enrolled = await WritAgentClient.EnrollAsync(new HttpClient(), serverUri, parse.GetValue(code)!, key, ct);
            }
            catch
            {
                File.Delete(pending);
                throw;
            }
            if (enrolled.AgentId != agentId)
            {
                File.Delete(pending);
                throw new CliException($"the code belongs to {enrolled.AgentId}, not {agentId}: a key is now enrolled for {enrolled.AgentId} but was not kept; ask for a new code", 1);
            }
            File.Move(pending, fullPath, overwrite: true);
            Console.WriteLine($"enrolled {enrolled.AgentId}; key {enrolled.Thumbprint} saved to {Path.GetFullPath(path)} (mode 0600)");
            return 0;
        });
        return command;
    }

    public static Command Task()
    {
        var agent = AgentOption();
        var purpose = new Option<string>("--purpose") { Description = "what the task is for", Required = true };
        var ticket = new Option<string>("--ticket") { Description = "ticket or justification" };
        var onBehalfOf = new Option<string>("--on-behalf-of") { Description = "the human the agent acts for" };
        var ttl = new Option<string>("--ttl") { Description = "task lifetime, e.g. 30m (default 1h, at most 8h)" };
        var start = new Command("start", "open a task; prints its id") { agent, purpose, ticket, onBehalfOf, ttl };
        start.SetAction(async (parse, ct) =>
        {
            var client = AgentIdentity.Connect(parse.GetValue(agent));
            var task = await client.StartTaskAsync(parse.GetValue(purpose)!, parse.GetValue(ticket), parse.GetValue(onBehalfOf), ParseTtl(parse.GetValue(ttl)), ct);
            Console.WriteLine(task.Id);
            Console.Error.WriteLine($"task open until {Output.Text(task.ExpiresAt)}");
            return 0;
        });

        var completeAgent = AgentOption();
        var id = new Argument<string>("task");
        var admin = new Option<bool>("--admin") { Description = "close the task as an operator (admin token) instead of as the agent" };
        var complete = new Command("complete", "complete a task: every credential issued under it is revoked at once") { id, completeAgent, admin };
        complete.SetAction(async (parse, ct) =>
        {
            var task = parse.GetValue(admin)
                ? await CliContext.AdminClient().CompleteTaskAsync(parse.GetValue(id)!, ct)
                : await AgentIdentity.Connect(parse.GetValue(completeAgent)).CompleteTaskAsync(parse.GetValue(id)!, ct);
            Console.WriteLine($"{task.Id} {task.Status}");
            return 0;
        });

        var listAgent = new Option<string>("--agent");
        var status = new Option<string>("--status") { Description = "open, completed or expired" };
        var format = PolicyCommands.OutputOption();
        var list = new Command("list", "tasks (operator)") { listAgent, status, format };
        list.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var tasks = await CliContext.AdminClient().ListTasksAsync(parse.GetValue(listAgent), parse.GetValue(status), ct);
            Output.Write(fmt, tasks, ("id", t => t.Id), ("agent", t => t.AgentId), ("status", t => t.Status), ("purpose", t => t.Purpose),
                ("ticket", t => t.Ticket), ("on_behalf_of", t => t.OnBehalfOf), ("created", t => t.CreatedAt), ("expires", t => t.ExpiresAt));
            return 0;
        });
        return new Command("task", "units of agent work; credentials live and die with their task") { start, complete, list };
    }

    public static Command Token()
    {
        var agent = AgentOption();
        var scope = new Option<string[]>("--scope") { Description = "resource:action, repeatable (e.g. --scope crm:read)", Required = true, AllowMultipleArgumentsPerToken = true };
        var target = new Option<string>("--target") { Description = "what the credential may touch, e.g. customers/12345" };
        var ttl = new Option<string>("--ttl") { Description = "lifetime, e.g. 5m (default 5m; capped by policy and 8h)" };
        var task = new Option<string>("--task") { Description = "task id (writ task start)", Required = true };
        var environment = new Option<string>("--env") { Description = "environment (default: the agent's own)" };
        var json = new Option<bool>("--json") { Description = "print the whole token response as JSON" };
        var justification = new Option<string>("--justification") { Description = "why: required when the policy wants a human to approve (write) or elevate (delete)" };
        var wait = new Option<bool>("--wait") { Description = "if a human must approve, wait (polling) until they decide" };
        var approval = new Option<string>("--approval") { Description = "redeem an approval id that a human has approved" };
        var command = new Command("token", "get a task-scoped, DPoP-bound access token (for scripts)") { agent, scope, target, ttl, task, environment, json, justification, wait, approval };
        command.SetAction(async (parse, ct) =>
        {
            var client = AgentIdentity.Connect(parse.GetValue(agent));
            var (scopes, taskId, targetValue, ttlValue, env) = (string.Join(' ', parse.GetValue(scope)!), parse.GetValue(task)!, parse.GetValue(target),
                ParseTtl(parse.GetValue(ttl)), parse.GetValue(environment));
            var why = parse.GetValue(justification);
            Credential credential;
            if (parse.GetValue(wait))
            {
                if (why is null) throw new CliException("--wait asks a human: say why with --justification \"…\"");
                credential = await client.GetApprovedCredentialAsync(scopes, taskId, why, targetValue, ttlValue, env,
                    id => Console.Error.WriteLine($"waiting for a human to approve {id} (writ approvals show {id}); Ctrl+C to stop waiting"), ct);
            }
            else
            {
                try
                {
                    credential = await client.GetCredentialAsync(scopes, taskId, targetValue, ttlValue, env, ct, why, parse.GetValue(approval));
                }
                catch (WritApiException e) when (e.ApprovalId is not null && e.OAuthError is "approval_required" or "elevation_required" or "authorization_pending")
                {
                    Console.Error.WriteLine($"writ: {e.OAuthError} ({e.Code}): {e.Message}");
                    Console.Error.WriteLine($"when approved: writ token --task {taskId} --scope {scopes}{(targetValue is null ? "" : " --target " + targetValue)} --approval {e.ApprovalId}");
                    return 3;
                }
            }
            if (parse.GetValue(json)) Output.Json(credential);
            else Console.WriteLine(credential.AccessToken);
            Console.Error.WriteLine($"{credential.Scope} in {credential.Environment}, expires {Output.Text(credential.ExpiresAt)}; bound to this agent's key (DPoP)");
            return 0;
        });
        return command;
    }

    internal static TimeSpan? ParseTtl(string? text)
    {
        if (text is null) return null;
        if (!Writ.Core.Common.Durations.TryParse(text, out var value)) throw new CliException($"--ttl '{text}' is not a duration: use e.g. 90s, 5m or 1h");
        return value;
    }
}
