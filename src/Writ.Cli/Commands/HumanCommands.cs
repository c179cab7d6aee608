using System.CommandLine;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Humans;

namespace Writ.Cli.Commands;

/// <summary><c>writ login|logout</c>, <c>writ user add|list|disable</c>, <c>writ approvals list|show|approve|deny</c>.</summary>
internal static class HumanCommands
{
    public static Command Login()
    {
        var addr = new Option<string>("--addr") { Description = "server URL", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WRIT_ADDR") ?? "http://127.0.0.1:8430" };
        var user = new Option<string>("--user") { Description = "log in as this user (password from stdin, or typed without echo); without it, read an admin token" };
        var command = new Command("login", "log in (user + password, an 8-hour session) or save a bootstrap admin token; read from stdin, never from argv") { addr, user };
        command.SetAction(async (parse, ct) =>
        {
            var address = CliContext.ServerUri(parse.GetValue(addr)!);
            var name = parse.GetValue(user);
            string token;
            if (name is not null)
            {
                if (!UserNames.IsValid(name)) throw new CliException($"'{name}' is not a user name (lower-case letters, digits, '.', '_', '-', '+', '@')");
                var password = await ConsoleInput.ReadSecretLineAsync($"password for {name}: ", ct);
                if (password.Length == 0) throw new CliException("no password on stdin");
                var session = await WritAdminClient.LoginAsync(new HttpClient(), address, name, password, ct);
                token = session.Token;
                Console.WriteLine($"logged in to {address.ToString().TrimEnd('/')} as {session.User} ({string.Join(", ", session.Roles)}) until {Output.Text(session.ExpiresAt)}");
            }
            else
            {
                token = (await ConsoleInput.ReadSecretLineAsync("admin token: ", ct)).Trim();
                if (token.Length == 0) throw new CliException("no token on stdin");
                var me = await new WritAdminClient(new HttpClient(), address, token).WhoAmIAsync(ct); // proves the token works before saving it
                Console.WriteLine($"logged in to {address.ToString().TrimEnd('/')} as {me.Name} ({string.Join(", ", me.Roles)})");
            }
            CliContext.SaveLogin(address.ToString().TrimEnd('/'), token);
            Console.Error.WriteLine($"saved to {CliContext.LoginFile} (mode 0600)");
            return 0;
        });
        return command;
    }

    public static Command Logout()
    {
        var command = new Command("logout", "end this session on the server and forget it here");
        command.SetAction(async (parse, ct) =>
        {
            var (addr, token) = CliContext.Admin();
            if (token.StartsWith("writ_session_", StringComparison.Ordinal))
                await new WritAdminClient(new HttpClient(), addr, token).LogoutAsync(ct);
            if (File.Exists(CliContext.LoginFile)) File.Delete(CliContext.LoginFile);
            Console.WriteLine("logged out");
            return 0;
        });
        return command;
    }

    public static Command User()
    {
        var name = new Argument<string>("name") { Description = "user name, e.g. alice or alice@example.com" };
        var roles = new Option<string[]>("--role") { Description = "admin, approver or auditor; repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var add = new Command("add", "add a human operator; the password is read from stdin (or typed without echo), never from argv") { name, roles };
        add.SetAction(async (parse, ct) =>
        {
            var given = parse.GetValue(roles)!.SelectMany(r => r.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
            if (given.FirstOrDefault(r => !HumanRoles.IsKnown(r)) is { } bad) throw new CliException($"--role '{bad}' is not a role: use admin, approver or auditor");
            var password = await ConsoleInput.ReadSecretLineAsync("password (not echoed): ", ct);
            if (PasswordHashing.Problem(password) is { } weak) throw new CliException(weak);
            var user = await CliContext.AdminClient().AddUserAsync(parse.GetValue(name)!, given, password, ct);
            Console.WriteLine($"added {user.Name} ({string.Join(", ", user.Roles)})");
            return 0;
        });

        var format = PolicyCommands.OutputOption();
        var list = new Command("list", "human operators") { format };
        list.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var users = await CliContext.AdminClient().ListUsersAsync(ct);
            Output.Write(fmt, users, ("name", u => u.Name), ("roles", u => string.Join(",", u.Roles)), ("status", u => u.Status),
                ("created", u => u.CreatedAt), ("locked_until", u => u.LockedUntil));
            return 0;
        });

        var disableName = new Argument<string>("name");
        var disable = new Command("disable", "disable a user: their sessions end at once") { disableName };
        disable.SetAction(async (parse, ct) =>
        {
            var user = await CliContext.AdminClient().DisableUserAsync(parse.GetValue(disableName)!, ct);
            Console.WriteLine($"{user.Name} is {user.Status}; every session of theirs is revoked");
            return 0;
        });
        return new Command("user", "human operators: admins, approvers, auditors") { add, list, disable };
    }

    public static Command Approvals()
    {
        var status = new Option<string>("--status") { Description = "pending (default), approved, denied, expired, used, closed, or all" };
        var format = PolicyCommands.OutputOption();
        var list = new Command("list", "approval and elevation requests") { status, format };
        list.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var wanted = parse.GetValue(status) ?? "pending";
            var approvals = await CliContext.AdminClient().ListApprovalsAsync(wanted == "all" ? null : wanted, ct);
            Output.Write(fmt, approvals, ("id", a => a.Id), ("kind", a => a.Kind), ("status", a => a.Status), ("agent", a => a.AgentId),
                ("scope", a => a.Scope), ("target", a => a.Target), ("approvals", a => $"{a.Approvals}/{a.Required}"),
                ("requested", a => a.RequestedAt), ("justification", a => OneLine(a.Justification)));
            return 0;
        });

        var showId = new Argument<string>("id");
        var json = new Option<bool>("--json");
        var show = new Command("show", "one request: exactly what it asks, why, and who decided what") { showId, json };
        show.SetAction(async (parse, ct) =>
        {
            var a = await CliContext.AdminClient().GetApprovalAsync(parse.GetValue(showId)!, ct);
            if (parse.GetValue(json)) Output.Json(a);
            else Print(a);
            return 0;
        });

        return new Command("approvals", "see and decide what agents ask humans for") { list, show, Decide(approve: true), Decide(approve: false) };
    }

    private static Command Decide(bool approve)
    {
        var id = new Argument<string>("id");
        var reason = new Option<string>("--reason") { Description = "why (recorded in the audit log)", Required = true };
        var window = new Option<string>("--window") { Description = "elevations: how long it lasts, e.g. 10m (at most the policy's max_window)" };
        var command = approve
            ? new Command("approve", "approve a request; an elevation opens its window now") { id, reason, window }
            : new Command("deny", "deny a request") { id, reason };
        command.SetAction(async (parse, ct) =>
        {
            var client = CliContext.AdminClient();
            // Deciding needs the password again: a saved session alone (readable by anything running as you) cannot decide.
            client.StepUpPassword = await ConsoleInput.ReadSecretLineAsync("your password, to confirm it is you: ", ct);
            if (client.StepUpPassword.Length == 0) throw new CliException("deciding an approval needs your password (stdin, or typed when asked)");
            var result = approve
                ? await client.ApproveAsync(parse.GetValue(id)!, parse.GetValue(reason)!, parse.GetValue(window), ct)
                : await client.DenyAsync(parse.GetValue(id)!, parse.GetValue(reason)!, ct);
            Console.WriteLine(result.Status switch
            {
                "approved" when result.Kind == "elevation" => $"{result.Id} approved: {result.AgentId} may {result.Scope} {result.Target} until {Output.Text(result.WindowEndsAt)}",
                "approved" => $"{result.Id} approved: {result.AgentId} may {result.Scope} {result.Target} once",
                "denied" => $"{result.Id} denied",
                _ => $"{result.Id}: your approval is recorded; {result.Required - result.Approvals} more needed",
            });
            return 0;
        });
        return command;
    }

    private static void Print(ApprovalInfo a)
    {
        Console.WriteLine($"{a.Id}  {a.Kind}  {a.Status}");
        Console.WriteLine($"  agent          {a.AgentId} (owner {a.AgentOwner}{(a.OnBehalfOf is null ? "" : ", acting for " + a.OnBehalfOf)})");
        Console.WriteLine($"  asks           {a.Scope}{(a.Target is null ? "" : " on " + a.Target)} in {a.Environment}, task {a.TaskId}");
        Console.WriteLine($"  justification  {OneLine(a.Justification)}");
        Console.WriteLine($"  needs          {a.Required} approval(s) from {(a.Approvers.Count == 0 ? "any approver" : string.Join(", ", a.Approvers))}" +
                          (a.Kind == "elevation" ? $"; window up to {a.MaxWindowSeconds / 60} min" : ""));
        Console.WriteLine($"  requested      {Output.Text(a.RequestedAt)}, expires {Output.Text(a.ExpiresAt)}");
        if (a.WindowEndsAt is { } end) Console.WriteLine($"  window ends    {Output.Text(end)}");
        foreach (var v in a.Votes) Console.WriteLine($"  {v.Decision,-14} {v.User} at {Output.Text(v.At)}: {OneLine(v.Reason)}");
    }

    /// <summary>Text an agent wrote, on one line: its line breaks cannot forge extra lines of this display.</summary>
    private static string OneLine(string text) => string.Join(" ⏎ ", text.Split('\n')).Replace('\t', ' ').Replace('\r', ' ');
}
