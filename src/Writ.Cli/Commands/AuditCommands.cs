using System.CommandLine;
using Writ.Client.Contracts;

namespace Writ.Cli.Commands;

internal static class AuditCommands
{
    public static Command Create()
    {
        var count = new Option<int>("-n", "--lines") { Description = "how many of the newest entries", DefaultValueFactory = _ => 20 };
        var tailFormat = PolicyCommands.OutputOption();
        var tail = new Command("tail", "the newest audit entries: who did what, for whom, with which decision") { count, tailFormat };
        tail.SetAction(async (parse, ct) =>
        {
            var n = parse.GetValue(count);
            if (n is < 1 or > 10_000) throw new CliException("-n must be between 1 and 10000");
            var client = CliContext.AdminClient();
            Print(parse.GetValue(tailFormat), await client.SearchAuditAsync(limit: n, last: n, ct: ct));
            return 0;
        });

        var actor = new Option<string>("--actor") { Description = "agent or human id" };
        var task = new Option<string>("--task") { Description = "task id" };
        var action = new Option<string>("--action") { Description = "e.g. token.issue, policy.apply, task.open" };
        var resource = new Option<string>("--resource");
        var environment = new Option<string>("--env");
        var decision = new Option<string>("--decision") { Description = "allow, deny, approval_required, elevation_required, info" };
        var since = new Option<string>("--since") { Description = "ISO 8601 time" };
        var limit = new Option<int>("--limit") { DefaultValueFactory = _ => 100 };
        var searchFormat = PolicyCommands.OutputOption();
        var search = new Command("search", "filter the audit log") { actor, task, action, resource, environment, decision, since, limit, searchFormat };
        search.SetAction(async (parse, ct) =>
        {
            DateTimeOffset? sinceTime = null;
            if (parse.GetValue(since) is { } s)
            {
                if (!DateTimeOffset.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t))
                    throw new CliException($"--since '{s}' is not an ISO 8601 time");
                sinceTime = t;
            }
            var entries = await CliContext.AdminClient().SearchAuditAsync(parse.GetValue(actor), parse.GetValue(task), parse.GetValue(action),
                parse.GetValue(resource), parse.GetValue(environment), parse.GetValue(decision), sinceTime, null, parse.GetValue(limit), ct: ct);
            Print(parse.GetValue(searchFormat), entries);
            return 0;
        });

        var verify = new Command("verify", "recompute the hash chain and check the signed checkpoints; exit 1 if anything was edited, deleted, inserted or reordered");
        verify.SetAction(async (parse, ct) =>
        {
            var report = await CliContext.AdminClient().VerifyAuditAsync(ct);
            if (report.Ok)
            {
                Console.WriteLine($"ok: {report.Records} records, chain intact up to #{report.HeadSeq}, {report.Checkpoints} signed checkpoint(s) valid");
                return 0;
            }
            Console.WriteLine($"FAILED: {report.Problems.Count} problem(s) in {report.Records} records");
            foreach (var p in report.Problems) Console.WriteLine($"  #{p.Seq}  {p.Kind}: {p.Message}");
            return 1;
        });

        var file = new Option<string>("-o", "--out") { Description = "write to this file instead of stdout" };
        var export = new Command("export", "the whole log as JSON Lines, in chain order") { file };
        export.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file);
            var client = CliContext.AdminClient();
            if (path is null)
            {
                await foreach (var line in client.ExportAuditAsync(ct)) await Console.Out.WriteLineAsync(line);
                return 0;
            }
            // A refusal, a broken connection or Ctrl+C leaves an earlier export as it was, never one cut short.
            var n = 0;
            await AtomicFile.WriteAsync(path, async writer =>
            {
                await foreach (var line in client.ExportAuditAsync(ct))
                {
                    await writer.WriteLineAsync(line);
                    n++;
                }
            });
            Console.Error.WriteLine($"wrote {n} records to {path}");
            return 0;
        });

        return new Command("audit", "read and verify the audit log") { tail, search, verify, export };
    }

    private static void Print(string? format, IReadOnlyList<AuditEntry> entries)
    {
        var fmt = Output.CheckFormat(format);
        Output.Write(fmt, entries,
            ("seq", e => e.Seq), ("time", e => e.At), ("actor_kind", e => e.ActorKind), ("actor", e => e.ActorId), ("for", e => e.OnBehalfOf),
            ("action", e => e.Action), ("env", e => e.Environment), ("scope", e => e.Scope), ("target", e => e.Target),
            ("decision", e => e.Decision), ("reason", e => e.Reason), ("task", e => e.TaskId));
    }
}
