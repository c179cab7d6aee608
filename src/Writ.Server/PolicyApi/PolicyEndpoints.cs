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
        var group = app.MapGroup("/api/policy").RequireAdmin();
        group.MapPost("", ApplyAsync);
        group.MapGet("", async (IWritStore store, CancellationToken ct) =>
        {
            var latest = await store.Policies.GetLatestAsync(ct);
            return latest is null
                ? Problems.Of(404, "policy.not_found", "no policy has been applied yet (writ apply -f POLICY)")
                : Results.Json(new PolicyDocumentInfo(latest.Version, latest.Sha256, latest.AppliedBy, latest.AppliedAt, latest.Source), WritJson.Options);
        });
        group.MapGet("/history", async (IWritStore store, CancellationToken ct) =>
        {
            var versions = await store.Policies.ListAsync(ct);
            return Results.Json(versions.Select(v => new PolicyVersionInfo(v.Version, v.Sha256, v.AppliedBy, v.AppliedAt)).ToList(), WritJson.Options);
        });
        return app;
    }

    private static async Task<IResult> ApplyAsync(HttpContext http, PolicyService service)
    {
        var body = await RequestBody.ReadJsonAsync<ApplyPolicyRequest>(http.Request, MaxPolicyBytes);
        if (!body.IsSuccess) return Problems.Of(body.Error!);
        var files = body.Value.Files;
        if (files is null || files.Count == 0) return Problems.BadRequest("policy.empty", "send at least one policy file");
        if (files.Any(f => string.IsNullOrWhiteSpace(f.Path) || f.Path.Length > 300 || f.Path.Contains('\n') || f.Text is null))
            return Problems.BadRequest("policy.invalid_file", "every file needs a path (one line, up to 300 characters) and a text");
        if (files.Select(f => f.Path).Distinct(StringComparer.Ordinal).Count() != files.Count)
            return Problems.BadRequest("policy.duplicate_file", "two files have the same path");

        var caller = Caller.Of(http);
        var result = await service.ApplyAsync(files.Select(f => new PolicySource(f.Path, f.Text)).ToList(), caller.ActorKind, caller.ActorId, http.RequestAborted);
        if (!result.IsSuccess) return Problems.Of(422, result.Error!.Code, result.Error!.Message);
        var (policy, version) = result.Value;
        return Results.Json(new PolicyVersionInfo(version.Version, version.Sha256, version.AppliedBy, version.AppliedAt,
            policy.Model.Agents.Count, policy.Model.Roles.Count, policy.Model.Resources.Count), WritJson.Options);
    }
}
