using System.CommandLine;
using Writ.Client.Contracts;
using Writ.Core.Policy;

namespace Writ.Cli.Commands;

internal static class PolicyCommands
{
    /// <summary><c>writ apply -f PATH</c>: validate locally first (offline, with positions), then send.</summary>
    public static Command Apply()
    {
        var file = new Option<string>("-f", "--file") { Description = "policy file or directory", Required = true };
        var command = new Command("apply", "validate and apply policy to the server") { file };
        command.SetAction(async (parse, ct) =>
        {
            var sources = Read(parse.GetValue(file)!);
            if (!Validate(sources)) return 1;
            var applied = await CliContext.AdminClient().ApplyPolicyAsync(sources.Select(s => new PolicyFile(s.Path, s.Text)).ToList(), ct);
            Console.WriteLine($"applied policy version {applied.Version} (sha256 {applied.Sha256[..16]}…): {applied.Agents} agents, {applied.Roles} roles, {applied.Resources} resources");
            foreach (var w in applied.Warnings ?? []) Console.Error.WriteLine("warning: " + w);
            return 0;
        });
        return command;
    }

    public static Command Policy()
    {
        var path = new Argument<string>("path") { Description = "policy file or directory" };
        var server = new Option<bool>("--server") { Description = "also check against the server's users: approval rules that no existing approver could satisfy" };
        var validate = new Command("validate", "check policy offline; every problem with file:line:column") { path, server };
        validate.SetAction(async (parse, ct) =>
        {
            var sources = Read(parse.GetValue(path)!);
            if (!Validate(sources)) return 1;
            if (parse.GetValue(server))
            {
                var check = await CliContext.AdminClient().CheckPolicyAsync(sources.Select(s => new PolicyFile(s.Path, s.Text)).ToList(), ct);
                foreach (var p in check.Problems) Console.Error.WriteLine(p.ToString());
                if (!check.Valid)
                {
                    Console.Error.WriteLine($"{check.Problems.Count} problem(s) against the server's users");
                    return 1;
                }
            }
            Console.WriteLine($"ok: {sources.Count} file(s) valid{(parse.GetValue(server) ? " (and satisfiable by the server's users)" : "")}, sha256 {PolicyLoader.ComputeSha256(sources)}");
            return 0;
        });

        var show = new Command("show", "print the policy in force");
        show.SetAction(async (parse, ct) =>
        {
            var p = await CliContext.AdminClient().GetPolicyAsync(ct);
            Console.WriteLine($"# version {p.Version}, sha256 {p.Sha256}, applied by {p.AppliedBy} at {Output.Text(p.AppliedAt)}");
            Console.Write(p.Source);
            return 0;
        });

        var format = OutputOption();
        var history = new Command("history", "list applied policy versions") { format };
        history.SetAction(async (parse, ct) =>
        {
            var fmt = Output.CheckFormat(parse.GetValue(format));
            var versions = await CliContext.AdminClient().GetPolicyHistoryAsync(ct);
            Output.Write(fmt, versions, ("version", v => v.Version), ("sha256", v => v.Sha256), ("applied_by", v => v.AppliedBy), ("applied_at", v => v.AppliedAt));
            return 0;
        });

        return new Command("policy", "validate, show and list policy versions") { validate, show, history };
    }

    public static Option<string> OutputOption() => new("-o", "--output") { Description = "table (default), json or csv" };

    private static IReadOnlyList<PolicySource> Read(string path)
    {
        try
        {
            return PolicyLoader.ReadPath(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CliException($"cannot read policy at {path}: {e.Message}");
        }
    }

    private static bool Validate(IReadOnlyList<PolicySource> sources)
    {
        var result = PolicyLoader.Load(sources);
        foreach (var d in result.Diagnostics) Console.Error.WriteLine(d.ToString());
        if (!result.IsValid) Console.Error.WriteLine($"{result.Diagnostics.Count} problem(s); nothing applied");
        return result.IsValid;
    }
}
