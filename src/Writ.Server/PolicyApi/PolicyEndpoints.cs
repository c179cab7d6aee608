using Writ.Core.Common;
using Writ.Core.Humans;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Policy;
using Writ.Core.Storage;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.PolicyApi;

internal static class PolicyEndpoints
{
    /// <summary>Policy bodies may be larger than other requests, but not unbounded.</summary>
    public const int MaxPolicyBytes = 4 * 1024 * 1024;

    public static IEndpointRouteBuilder MapPolicy(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/policy").RequireHuman(HumanRoles.Admin);
        group.MapPost("", ApplyAsync);
        group.MapPost("/validate", ValidateAsync);
        group.MapGet("", async (IWritStore store, CancellationToken ct) =>
        {
            var latest = await store.Policies.GetLatestAsync(ct);
            return latest is null
                ? Problems.Of(404, "policy.not_found", "no policy has been applied yet (writ apply -f POLICY)")
                : Results.Json(new PolicyDocumentInfo(latest.Version, latest.Sha256, latest.AppliedBy, latest.AppliedAt, latest.Source), WritJson.Options);
        }).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        group.MapGet("/history", async (IWritStore store, CancellationToken ct) =>
        {
            var versions = await store.Policies.ListAsync(ct);
            return Results.Json(versions.Select(v => new PolicyVersionInfo(v.Version, v.Sha256, v.AppliedBy, v.AppliedAt)).ToList(), WritJson.Options);
        }).AllowRoles(HumanRoles.Admin, HumanRoles.Auditor);
        return app;
    }

    private static async Task<IResult> ApplyAsync(HttpContext http, PolicyService service, IWritStore store)
    {
        var sources = await ReadSourcesAsync(http);
        if (!sources.IsSuccess) return Problems.Of(sources.Error!, sources.Error!.Code.StartsWith("policy.", StringComparison.Ordinal) ? 400 : null);

        var caller = Caller.Of(http);
        var result = await service.ApplyAsync(sources.Value, caller.ActorKind, caller.ActorId, http.RequestAborted);
        if (!result.IsSuccess) return Problems.Of(422, result.Error!.Code, result.Error!.Message);
        var (policy, version) = result.Value;
        // Applied even so: users may be added after the policy (the dev server applies its demo policy before any exist).
        var warnings = ApprovalFeasibility.Check(policy.Model, await store.Users.ListAsync(http.RequestAborted)).Select(ToProblem).ToList();
        return Results.Json(new PolicyVersionInfo(version.Version, version.Sha256, version.AppliedBy, version.AppliedAt,
            policy.Model.Agents.Count, policy.Model.Roles.Count, policy.Model.Resources.Count, warnings.Count == 0 ? null : warnings), WritJson.Options);
    }

    /// <summary>Validates without applying, and against the server's users: approval rules no existing user could satisfy are problems here.</summary>
    private static async Task<IResult> ValidateAsync(HttpContext http, IWritStore store)
    {
        var sources = await ReadSourcesAsync(http);
        if (!sources.IsSuccess) return Problems.Of(sources.Error!, sources.Error!.Code.StartsWith("policy.", StringComparison.Ordinal) ? 400 : null);
        var loaded = PolicyLoader.Load(sources.Value);
        var problems = loaded.Diagnostics.ToList();
        if (loaded.IsValid) problems.AddRange(ApprovalFeasibility.Check(loaded.Policy!, await store.Users.ListAsync(http.RequestAborted)));
        return Results.Json(new PolicyCheckResult(problems.Count == 0, problems.Select(ToProblem).ToList()), WritJson.Options);
    }

    private static async Task<Result<IReadOnlyList<PolicySource>>> ReadSourcesAsync(HttpContext http)
    {
        var body = await RequestBody.ReadJsonAsync<ApplyPolicyRequest>(http.Request, MaxPolicyBytes);
        if (!body.IsSuccess) return body.Error!;
        var files = body.Value.Files;
        if (files is null || files.Count == 0) return new Error("policy.empty", "send at least one policy file");
        if (files.Any(f => string.IsNullOrWhiteSpace(f.Path) || f.Path.Length > 300 || f.Path.Contains('\n') || f.Text is null))
            return new Error("policy.invalid_file", "every file needs a path (one line, up to 300 characters) and a text");
        if (files.Select(f => f.Path).Distinct(StringComparer.Ordinal).Count() != files.Count)
            return new Error("policy.duplicate_file", "two files have the same path");
        return files.Select(f => new PolicySource(f.Path, f.Text)).ToList();
    }

    private static PolicyProblem ToProblem(PolicyDiagnostic d) => new(d.Code, d.Message, d.File, d.Line, d.Column);
}
