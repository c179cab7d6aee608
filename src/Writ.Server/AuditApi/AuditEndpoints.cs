using Writ.Core.Humans;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.AuditApi;

/// <summary>Reading the audit log (search, export as JSON Lines) and verifying its chain. Humans only (invariant 8).</summary>
internal static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/audit").RequireHuman(HumanRoles.Admin, HumanRoles.Auditor);
        group.MapGet("", SearchAsync);
        group.MapGet("/export", ExportAsync);
        group.MapPost("/verify", async (IWritStore store, AuditLog audit, AuditCheckpointer checkpoints, CancellationToken ct) =>
        {
            await audit.FlushAsync(ct);
            var list = await store.Audit.ListCheckpointsAsync(ct);
            var report = await AuditChain.VerifyAsync(store.Audit.ReadAllAsync(ct), list, checkpoints.IsValid, ct);
            return Results.Json(new AuditVerifyResult(report.Ok, report.Records, report.HeadSeq, list.Count,
                report.Problems.Select(p => new AuditProblemInfo(p.Seq, p.Kind, p.Message)).ToList()), WritJson.Options);
        });
        return app;
    }

    private static async Task<IResult> SearchAsync(HttpContext http, IWritStore store, AuditLog audit, CancellationToken ct)
    {
        // Readers see every record queued so far, deferred gateway outcomes included.
        await audit.FlushAsync(ct);
        var q = http.Request.Query;
        DateTimeOffset? since = null, until = null;
        if (q.TryGetValue("since", out var s) && !TryParseTime(s, out since)) return Problems.BadRequest("request.invalid_time", "since must be an ISO 8601 time");
        if (q.TryGetValue("until", out var u) && !TryParseTime(u, out until)) return Problems.BadRequest("request.invalid_time", "until must be an ISO 8601 time");
        long? after = null;
        if (q.TryGetValue("after", out var a))
        {
            if (!long.TryParse(a, out var n) || n < 0) return Problems.BadRequest("request.invalid_after", "after must be a sequence number");
            after = n;
        }
        // last=N: the newest N records (what `writ audit tail` shows), in chain order.
        if (q.TryGetValue("last", out var lastText))
        {
            if (!int.TryParse(lastText, out var last) || last < 1 || last > 10_000) return Problems.BadRequest("request.invalid_last", "last must be between 1 and 10000");
            var head = await store.Audit.GetHeadAsync(ct);
            after = Math.Max(after ?? 0, (head?.Seq ?? 0) - last);
        }
        var limit = 100;
        if (q.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 10_000))
            return Problems.BadRequest("request.invalid_limit", "limit must be between 1 and 10000");
        var records = await store.Audit.SearchAsync(new AuditQuery(
            ActorId: q["actor"], TaskId: q["task"], Action: q["action"], Resource: q["resource"], Environment: q["environment"],
            Decision: q["decision"], Since: since, Until: until, AfterSeq: after, Limit: limit), ct);
        return Results.Json(records.Select(ToEntry).ToList(), WritJson.Options);
    }

    private static readonly ReadOnlyMemory<byte> Newline = "\n"u8.ToArray();

    private static async Task ExportAsync(HttpContext http, IWritStore store, AuditLog audit)
    {
        http.Response.ContentType = "application/x-ndjson";
        var ct = http.RequestAborted;
        await audit.FlushAsync(ct);
        await foreach (var record in store.Audit.ReadAllAsync(ct))
        {
            await JsonSerializer.SerializeAsync(http.Response.Body, ToEntry(record), WritJson.Options, ct);
            await http.Response.Body.WriteAsync(Newline, ct);
        }
    }

    private static bool TryParseTime(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)) return false;
        value = t;
        return true;
    }

    public static AuditEntry ToEntry(AuditRecord r) => new(r.Seq, r.Event.At, r.Event.ActorKind, r.Event.ActorId, r.Event.OnBehalfOf, r.Event.TaskId,
        r.Event.Action, r.Event.Resource, r.Event.Environment, r.Event.Scope, r.Event.Target, r.Event.Decision, r.Event.Reason, r.Event.PolicyVersion,
        r.Event.DurationMicros, r.Event.Details, r.PrevHash, r.Hash);
}
