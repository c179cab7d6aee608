using System.Text;
using BenchmarkDotNet.Attributes;
using Writ.Scanner;
using Writ.Scanner.Detection;

namespace Writ.Benchmarks;

/// <summary>
/// The scanner's engine on in-memory text (no file I/O): 4 MiB of source-like lines that mention tokens and
/// passwords, with a few real-format fake secrets, and a pathological line. Throughput = 4 MiB / mean time.
/// </summary>
[MemoryDiagnoser]
public class ScannerBenchmarks
{
    private string _mixed = "";
    private string _pathological = "";

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(1);
        string[] lines =
        [
            "export function orderInvoice(token, retry) { return token.refresh(42) + \"queue worker\"; }",
            "    public static int AuditLedger(string session) => session.Length + 7; // token cache",
            "  \"request_timeout\": \"handler-1234\",",
            "def report_batch(schema, password_field=None):\n    return client.fetch(max_tokens=512)",
            "TOKEN_TTL_SECONDS=3600",
        ];
        var sb = new StringBuilder();
        while (sb.Length < 4 << 20)
        {
            sb.AppendLine(lines[r.Next(lines.Length)]);
            if (r.Next(2000) == 0) sb.AppendLine("STRIPE_KEY=sk" + "_live_" + new string(Enumerable.Range(0, 24).Select(_ => (char)('a' + r.Next(26))).ToArray()));
        }
        _mixed = sb.ToString();
        _pathological = new StringBuilder().Insert(0, "password=", 100_000).ToString();
    }

    [Benchmark(Description = "engine, 4 MiB mixed source")]
    public int Mixed() => WorkspaceScanner.ScanText(_mixed, "src/app.js").Count;

    [Benchmark(Description = "engine, 900 KB line of 'password='")]
    public int Pathological() => WorkspaceScanner.ScanText(_pathological, "x.env").Count;

    [Benchmark(Description = "engine raw candidates (no line numbers/severity), 4 MiB")]
    public int EngineRaw()
    {
        var list = new List<RawFinding>();
        Engine.Default.Scan(_mixed, new FileContext("src/app.js"), new ScanContext(TimeProvider.System), list);
        return list.Count;
    }
}
