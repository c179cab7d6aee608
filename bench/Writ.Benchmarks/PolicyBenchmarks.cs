using System.Text;
using BenchmarkDotNet.Attributes;
using Writ.Core.Policy;

namespace Writ.Benchmarks;

/// <summary>
/// The policy decision sits in front of every credential request, so it must cost next to nothing.
/// A generated policy of 1,000 agents and 100 roles over 50 resources; the floor is one
/// <see cref="Dictionary{TKey, TValue}"/> lookup of the agent id (a decision needs at least that).
/// Run: <c>dotnet run -c Release --project bench/Writ.Benchmarks -- --filter '*PolicyBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private CompiledPolicy _policy = null!;
    private Dictionary<string, object> _floor = null!;
    private AccessRequest _allow = null!;
    private AccessRequest _allowWithTtl = null!;
    private AccessRequest _approval = null!;
    private AccessRequest _elevation = null!;
    private AccessRequest _targeted = null!;
    private AccessRequest _multi = null!;
    private AccessRequest _notGranted = null!;
    private AccessRequest _wrongEnvironment = null!;

    [GlobalSetup]
    public void Setup()
    {
        var sources = new[] { new PolicySource("generated.yaml", PolicyGenerator.Generate(agents: 1000, roles: 100, resources: 50)) };
        var result = PolicyLoader.Load(sources);
        if (!result.IsValid) throw new InvalidOperationException(string.Join("\n", result.Diagnostics.Take(5)));
        _policy = CompiledPolicy.Compile(result.Policy!, 1, PolicyLoader.ComputeSha256(sources));
        _floor = result.Policy!.Agents.Keys.ToDictionary(k => k, k => (object)k, StringComparer.Ordinal);

        // agent-500 is in staging with role-0 (r0..r2: read, pre-approved write, delete) and role-3 (r3..r5, targets "vol-*", write needs approval).
        const string agent = "agent-500@staging";
        _allow = new AccessRequest(agent, "staging", "r1", ["read"], null, null);
        _allowWithTtl = new AccessRequest(agent, "staging", "r1", ["write"], null, TimeSpan.FromMinutes(3));
        _approval = new AccessRequest(agent, "staging", "r4", ["write"], "vol-12", null);
        _elevation = new AccessRequest(agent, "staging", "r1", ["delete"], null, null);
        _targeted = new AccessRequest(agent, "staging", "r4", ["read"], "vol-12345", null);
        _multi = new AccessRequest(agent, "staging", "r1", ["read", "write", "delete"], null, null);
        _notGranted = new AccessRequest(agent, "staging", "r40", ["read"], null, null);
        _wrongEnvironment = new AccessRequest(agent, "production", "r1", ["read"], null, null);

        Check(_allow, DecisionKind.Allow);
        Check(_allowWithTtl, DecisionKind.Allow);
        Check(_approval, DecisionKind.ApprovalRequired);
        Check(_elevation, DecisionKind.ElevationRequired);
        Check(_targeted, DecisionKind.Allow);
        Check(_multi, DecisionKind.ElevationRequired);
        Check(_notGranted, DecisionKind.Deny);
        Check(_wrongEnvironment, DecisionKind.Deny);
    }

    private void Check(AccessRequest request, DecisionKind expected)
    {
        var d = _policy.Evaluate(request);
        if (d.Kind != expected) throw new InvalidOperationException($"setup: expected {expected}, got {d.Code}: {d.Message}");
    }

    [Benchmark(Baseline = true, Description = "floor: one dictionary lookup")]
    public object Floor() => _floor["agent-500@staging"];

    [Benchmark(Description = "allow read")]
    public Decision Allow() => _policy.Evaluate(_allow);

    [Benchmark(Description = "allow write, ttl 3m")]
    public Decision AllowWithTtl() => _policy.Evaluate(_allowWithTtl);

    [Benchmark(Description = "approval required")]
    public Decision Approval() => _policy.Evaluate(_approval);

    [Benchmark(Description = "elevation required")]
    public Decision Elevation() => _policy.Evaluate(_elevation);

    [Benchmark(Description = "allow read, target glob")]
    public Decision Targeted() => _policy.Evaluate(_targeted);

    [Benchmark(Description = "3 actions")]
    public Decision MultiAction() => _policy.Evaluate(_multi);

    [Benchmark(Description = "deny: not granted")]
    public Decision NotGranted() => _policy.Evaluate(_notGranted);

    [Benchmark(Description = "deny: environment")]
    public Decision WrongEnvironment() => _policy.Evaluate(_wrongEnvironment);
}

/// <summary>What <c>writ apply</c> costs for the same 1,000-agent policy: parse, validate (with positions) and compile.</summary>
[MemoryDiagnoser]
public class PolicyLoadBenchmarks
{
    private PolicySource[] _sources = null!;

    [GlobalSetup]
    public void Setup() => _sources = [new PolicySource("generated.yaml", PolicyGenerator.Generate(agents: 1000, roles: 100, resources: 50))];

    [Benchmark]
    public CompiledPolicy LoadAndCompile()
    {
        var result = PolicyLoader.Load(_sources);
        return CompiledPolicy.Compile(result.Policy!, 1, "bench");
    }
}

/// <summary>
/// Generates a valid policy: resources r0..rN in staging and production; role-i grants r(i)..r(i+2) with read,
/// write (pre-approved when i is even) and delete; roles 3, 9, 15, … carry targets; agent-j has role (j mod R)
/// and role ((j + 3) mod R) and lives in staging when j is even.
/// </summary>
internal static class PolicyGenerator
{
    public static string Generate(int agents, int roles, int resources)
    {
        var sb = new StringBuilder();
        sb.AppendLine("environments: [staging, production]");
        sb.AppendLine("resources:");
        for (var r = 0; r < resources; r++)
            sb.AppendLine($"  r{r}: {{ actions: [read, write, delete, admin], environments: [staging, production] }}");
        sb.AppendLine("roles:");
        for (var i = 0; i < roles; i++)
        {
            sb.AppendLine($"  role-{i}:");
            sb.AppendLine("    permissions:");
            for (var k = 0; k < 3; k++) sb.AppendLine($"      r{(i + k) % resources}: [read, write, delete]");
            if (i % 2 == 0)
            {
                sb.AppendLine("    preapproved:");
                for (var k = 0; k < 3; k++) sb.AppendLine($"      r{(i + k) % resources}: [write]");
            }
            if (i % 6 == 3) sb.AppendLine("    targets: [\"vol-*\", \"customers/**\"]");
            sb.AppendLine("    restrictions: [no-bulk]");
            sb.AppendLine($"    max_ttl: {10 + i % 50}m");
        }
        sb.AppendLine("agents:");
        for (var j = 0; j < agents; j++)
        {
            var env = j % 2 == 0 ? "staging" : "production";
            sb.AppendLine($"  agent-{j}@{env}: {{ kind: ai-agent, owner: owner{j % 37}@example.com, roles: [role-{j % roles}, role-{(j + 3) % roles}] }}");
        }
        return sb.ToString();
    }
}
