using System.CommandLine;
using Writ.Client.Contracts;

namespace Writ.Cli.Commands;

internal static class AgentCommands
{
    public static Command Create()
    {
        var format = PolicyCommands.OutputOption();
        var list = new Command("list", "the inventory: every agent with owner, kind, roles, status, last seen, active credentials") { format };
        list.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var agents = await CliContext.AdminClient().ListAgentsAsync(ct);
            Output.Write(fmt, agents,
                ("id", a => a.Id), ("kind", a => a.Kind), ("owner", a => a.Owner), ("roles", a => a.Roles), ("status", a => a.Status),
                ("created", a => a.CreatedAt), ("last_seen", a => a.LastSeenAt), ("active_credentials", a => a.ActiveCredentials), ("keys", a => a.Keys));
            return 0;
        });

        var id = new Argument<string>("agent") { Description = "agent id, name@environment" };
        var showFormat = PolicyCommands.OutputOption();
        var show = new Command("show", "one agent with its keys and active credentials") { id, showFormat };
        show.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(showFormat));
            var detail = await CliContext.AdminClient().GetAgentAsync(parse.GetValue(id)!, ct);
            if (fmt == "json") { Output.Json(detail); return 0; }
            var a = detail.Agent;
            Console.WriteLine($"{a.Id}  ({a.Kind}, {a.Status})\n  owner:       {a.Owner}\n  roles:       {Output.Text(a.Roles)}\n  description: {Output.Text(a.Description)}\n  created:     {Output.Text(a.CreatedAt)}\n  last seen:   {Output.Text(a.LastSeenAt)}");
            Console.WriteLine($"  keys ({detail.Keys.Count}):");
            foreach (var k in detail.Keys) Console.WriteLine($"    {k.Thumbprint}  enrolled {Output.Text(k.CreatedAt)}{(k.RevokedAt is null ? "" : "  revoked " + Output.Text(k.RevokedAt))}");
            Console.WriteLine($"  active credentials ({detail.ActiveCredentials.Count}):");
            foreach (var c in detail.ActiveCredentials) Console.WriteLine($"    {c.Jti}  {c.Scope}  {c.Environment}  target={Output.Text(c.Target)}  task={c.TaskId}  expires {Output.Text(c.ExpiresAt)}");
            return 0;
        });

        var suspend = StatusCommand("suspend", "suspend an agent: it gets nothing, and its live credentials are revoked at once", (c, a, ct) => c.SuspendAgentAsync(a, ct));
        var resume = StatusCommand("resume", "resume a suspended agent", (c, a, ct) => c.ResumeAgentAsync(a, ct));

        var codeId = new Argument<string>("agent") { Description = "agent id, name@environment" };
        var enrollCode = new Command("enroll-code", "print a one-time enrollment code for an agent (single use, 15 minutes)") { codeId };
        enrollCode.SetAction(async (parse, ct) =>
        {
            var code = await CliContext.AdminClient().CreateEnrollmentCodeAsync(parse.GetValue(codeId)!, ct);
            Console.WriteLine(code.Code);
            Console.Error.WriteLine($"single use, expires {Output.Text(code.ExpiresAt)}: on the agent's machine run  writ enroll --agent {code.AgentId} --code <code>");
            return 0;
        });

        return new Command("agent", "the agent inventory") { list, show, suspend, resume, enrollCode };
    }

    private static Command StatusCommand(string name, string description, Func<Client.Http.WritAdminClient, string, CancellationToken, Task<AgentInfo>> action)
    {
        var id = new Argument<string>("agent") { Description = "agent id, name@environment" };
        var command = new Command(name, description) { id };
        command.SetAction(async (parse, ct) =>
        {
            var agent = await action(CliContext.AdminClient(), parse.GetValue(id)!, ct);
            Console.WriteLine($"{agent.Id} is {agent.Status}");
            return 0;
        });
        return command;
    }
}
