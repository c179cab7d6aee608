using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Server.Auth;

namespace Writ.Server.Hosting;

/// <summary>
/// In dev mode the first start makes an admin token and prints it once; only its SHA-256 is stored.
/// A marker file records that it was issued, so restarts do not print (or mint) another one;
/// <c>--reset-admin-token</c> mints a fresh one and revokes every earlier one (a reset is how a leaked token is made
/// useless). Both are audited.
/// </summary>
internal static class DevAdminToken
{
    public static async Task EnsureAsync(IWritStore store, WritServerOptions options, TimeProvider clock, CancellationToken ct)
    {
        var marker = Path.Combine(options.DataDirectory, "admin-token.issued");
        if (File.Exists(marker) && !options.ResetAdminToken) return;
        var token = HumanAuthentication.AdminTokenPrefix + Ids.Random(32);
        var now = clock.GetUtcNow();
        // Recorded first: if the log cannot take it, the server does not start and nothing changed.
        await store.Audit.AppendAsync([new AuditAppend(new AuditEvent(now, ActorKinds.System, "writ", null, null,
            options.ResetAdminToken ? "admin_token.reset" : "admin_token.create", null, null, null, "admin", Decisions.Info, null, null, 0,
            options.ResetAdminToken ? """{"revokes_earlier_tokens":true}""" : null))], ct);
        if (options.ResetAdminToken) await store.AdminTokens.RevokeByNameAsync("admin", now, null, ct);
        await store.AdminTokens.AddAsync(new AdminToken(Ids.Sha256Hex(token), "admin", now, null), ct);
        await File.WriteAllTextAsync(marker, clock.GetUtcNow().ToString("O") + "\n", ct);
        options.Out.WriteLine($"""

            Writ admin token (shown once; only its hash is stored):

                export WRIT_ADDR={options.IssuerOrDefault}
                export WRIT_TOKEN={token}

            """);
        options.Out.Flush();
    }
}
