using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Policy;
using Writ.Core.Storage;
using Writ.Server.Hosting;

namespace Writ.Server.PolicyApi;

/// <summary>
/// Applies policy: validate again on the server (never trust the client's validation), store the
/// version with its SHA-256, the inventory and the record of who applied it (one transaction), then swap the compiled tables in.
/// </summary>
internal sealed class PolicyService(IWritStore store, PolicyHolder holder, AuditLog audit, TimeProvider clock, GatewayApi.GatewayFeed feed)
{
    public async Task<Result<(CompiledPolicy Policy, PolicyVersionRecord Version)>> ApplyAsync(IReadOnlyList<PolicySource> sources, string actorKind, string actorId, CancellationToken ct)
    {
        var loaded = PolicyLoader.Load(sources);
        if (!loaded.IsValid)
        {
            var first = loaded.Diagnostics.Count > 0 ? loaded.Diagnostics[0] : null;
            var summary = string.Join("\n", loaded.Diagnostics.Take(50).Select(d => d.ToString()));
            await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), actorKind, actorId, null, null, "policy.apply", null, null, null, null,
                Decisions.Deny, first?.Code ?? "policy.invalid", holder.Current?.Version, 0, null), null, ct);
            return new Error("policy.invalid", $"the policy has {loaded.Diagnostics.Count} problem(s):\n{summary}");
        }

        var source = Canonical(sources);
        if (!PolicyLoader.Load(Split(source)).IsValid)
        {
            // The stored form separates files with a marker line: a file that holds one in a comment is split differently
            // when read back (at the next start, or by a standalone gateway). What is stored must load as it was applied.
            await audit.RecordAsync(new AuditEvent(clock.GetUtcNow(), actorKind, actorId, null, null, "policy.apply", null, null, null, null,
                Decisions.Deny, "policy.reserved_line", holder.Current?.Version, 0, null), null, ct);
            return new Error("policy.reserved_line", $"a file contains the line '{FileMarker.TrimEnd()}', which Writ uses to separate stored policy files, where it breaks the file: remove or reword it");
        }
        var sha = PolicyLoader.ComputeSha256(sources);
        var now = clock.GetUtcNow();
        // The version, the inventory it declares and its audit record commit together: a version that is stored is in
        // force at the next start, so none may be stored unaudited (a failed append rolls all three back: 503).
        var version = await store.Policies.AddVersionAsync(sha, source, actorId, now, Inventory(loaded.Policy!, now), v =>
            new AuditEvent(now, actorKind, actorId, null, null, "policy.apply", null, null, null, null, Decisions.Info, null, v.Version, 0,
                $$"""{"sha256":"{{sha}}","agents":{{loaded.Policy!.Agents.Count}},"roles":{{loaded.Policy!.Roles.Count}}}"""), ct);
        var compiled = CompiledPolicy.Compile(loaded.Policy!, version.Version, sha);
        holder.Set(compiled);
        await feed.PublishAsync(); // standalone gateways load the new version
        return (compiled, version);
    }

    /// <summary>Loads the newest stored version at start-up. Stored versions were valid when applied; if one no longer loads, start-up fails loudly.</summary>
    public async Task<bool> LoadLatestAsync(CancellationToken ct)
    {
        var latest = await store.Policies.GetLatestAsync(ct);
        if (latest is null) return false;
        var loaded = PolicyLoader.Load(Split(latest.Source));
        if (!loaded.IsValid)
            throw new InvalidOperationException($"stored policy version {latest.Version} no longer validates: {string.Join("; ", loaded.Diagnostics.Take(5))}");
        holder.Set(CompiledPolicy.Compile(loaded.Policy!, latest.Version, latest.Sha256));
        return true;
    }

    private static List<Agent> Inventory(PolicyModel model, DateTimeOffset now) =>
        model.Agents.Values.Select(a => new Agent(a.Id, a.Kind, a.Owner, a.Roles, a.Description, AgentStatuses.Active, now, null)).ToList();

    // The stored source is every file, each introduced by a marker line with its path, so the exact
    // documents that were applied can be shown, diffed and re-loaded with their original positions.
    private const string FileMarker = "# ---- writ-policy-file: ";

    public static string Canonical(IReadOnlyList<PolicySource> sources) =>
        string.Concat(sources.OrderBy(s => s.Path, StringComparer.Ordinal).Select(s => FileMarker + s.Path + "\n" + s.Text.ReplaceLineEndings("\n") + (s.Text.EndsWith('\n') ? "" : "\n")));

    /// <summary>The files of a <see cref="Canonical"/> text. A file starts at a marker that starts a line; the marker's text anywhere else (in a comment, in a path) is part of the file.</summary>
    public static IReadOnlyList<PolicySource> Split(string canonical)
    {
        var starts = new List<int>();
        if (canonical.StartsWith(FileMarker, StringComparison.Ordinal)) starts.Add(0);
        for (var i = canonical.IndexOf("\n" + FileMarker, StringComparison.Ordinal); i >= 0; i = canonical.IndexOf("\n" + FileMarker, i + 1, StringComparison.Ordinal))
            starts.Add(i + 1);
        var result = new List<PolicySource>(starts.Count);
        for (var k = 0; k < starts.Count; k++)
        {
            var part = canonical[(starts[k] + FileMarker.Length)..(k + 1 < starts.Count ? starts[k + 1] : canonical.Length)];
            var newline = part.IndexOf('\n');
            result.Add(newline < 0 ? new PolicySource(part, "") : new PolicySource(part[..newline], part[(newline + 1)..]));
        }
        return result;
    }
}
