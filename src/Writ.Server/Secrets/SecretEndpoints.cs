using Writ.Core.Humans;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Secrets;
using Writ.Core.Storage;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Secrets;

/// <summary>
/// The admin API for upstream secrets. The value is write-only: it comes in once in a JSON body (never in the URL)
/// and no response, log line or audit record carries it back; the audit names the secret and its version only.
/// </summary>
internal static class SecretEndpoints
{
    /// <summary>A JSON string can escape every byte of a 64 KiB value as <c>\uXXXX</c>: six times the value, plus the envelope.</summary>
    private const int MaxBodyBytes = SecretRules.MaxValueBytes * 6 + 1024;

    public static IEndpointRouteBuilder MapSecrets(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/secrets").RequireHuman(HumanRoles.Admin);
        group.MapGet("", async (IWritStore store, CancellationToken ct) =>
            Results.Json((await store.Secrets.ListAsync(ct)).Select(ToInfo).ToList(), WritJson.Options));
        group.MapGet("/{name}", async (string name, IWritStore store, CancellationToken ct) =>
        {
            if (SecretRules.CheckName(name) is { } bad) return Problems.Of(bad);
            var meta = await store.Secrets.GetMetadataAsync(name, ct);
            return meta is null ? Problems.Of(404, "secret.not_found", $"no secret {name}") : Results.Json(ToInfo(meta), WritJson.Options);
        });
        group.MapPut("/{name}", (string name, HttpContext http, SecretVault vault, IWritStore store, AuditLog audit, TimeProvider clock) =>
            WriteAsync(name, create: true, http, vault, store, audit, clock));
        group.MapPost("/{name}/rotate", (string name, HttpContext http, SecretVault vault, IWritStore store, AuditLog audit, TimeProvider clock) =>
            WriteAsync(name, create: false, http, vault, store, audit, clock));
        return app;
    }

    private static async Task<IResult> WriteAsync(string name, bool create, HttpContext http, SecretVault vault, IWritStore store, AuditLog audit, TimeProvider clock)
    {
        var ct = http.RequestAborted;
        var caller = Caller.Of(http);
        var action = create ? "secret.put" : "secret.rotate";
        if (SecretRules.CheckName(name) is { } badName) return Problems.Of(badName);

        var body = await RequestBody.ReadJsonAsync<PutSecretRequest>(http.Request, MaxBodyBytes);
        // The audit names the secret and the version written, never the value (invariant 4). A version is recorded in the
        // transaction that writes it: a secret the log cannot record is not stored (503).
        var result = body.IsSuccess
            ? await vault.AddAsync(name, body.Value.Value, create, caller.ActorId, written =>
                new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, action, null, null, null, name,
                    Decisions.Info, null, null, 0, $$"""{"version":{{written.Version}}}"""), ct)
            : Result<SecretVersionMetadata>.Fail(body.Error!);

        if (!result.IsSuccess)
        {
            await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), caller.ActorKind, caller.ActorId, null, null, action, null, null, null, name,
                Decisions.Deny, result.Error!.Code, null, 0, null), null, ct);
            var code = result.Error!.Code;
            return Problems.Of(result.Error, code == "request.too_large" || code == "secret.too_large" ? 413 : code == "request.unsupported_media_type" ? 415 : null);
        }
        var meta = await store.Secrets.GetMetadataAsync(name, ct);
        return Results.Json(ToInfo(meta!), WritJson.Options, statusCode: create ? 201 : 200);
    }

    private static SecretInfo ToInfo(SecretMetadata m) => new(m.Name, m.LatestVersion, m.CreatedAt, m.RotatedAt,
        m.Versions.Select(v => new SecretVersionInfo(v.Version, v.CreatedBy, v.CreatedAt)).ToList());
}
