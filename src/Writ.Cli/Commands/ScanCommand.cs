using System.CommandLine;
using System.Diagnostics;
using Writ.Scanner;
using Writ.Scanner.History;
using Writ.Scanner.Reporting;

namespace Writ.Cli.Commands;

/// <summary>
/// <c>writ scan [PATH…]</c>: finds secrets in a workspace before an agent does (docs/scanner.md).
/// Exit codes: 0 clean, 1 findings at or above <c>--fail-on</c>, 2 usage or I/O error.
/// </summary>
internal static class ScanCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Files or directories to scan (default: the current directory)", Arity = ArgumentArity.ZeroOrMore };
        var format = new Option<string>("--format", "-f") { Description = "Output format: table, json or sarif", DefaultValueFactory = _ => "table" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of stdout" };
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a finding is at or above this severity: low, medium, high, critical or never", DefaultValueFactory = _ => "medium" };
        var baseline = new Option<string?>("--baseline") { Description = "A JSON report from an earlier run; only findings not in it are reported" };
        var showSecrets = new Option<bool>("--show-secrets") { Description = "Print secret values instead of a redacted prefix and fingerprint" };
        var maxSize = new Option<string>("--max-file-size") { Description = "Skip files larger than this (e.g. 10MB, 512KB; 0 = no limit)", DefaultValueFactory = _ => "10MB" };
        var vendored = new Option<bool>("--include-vendored") { Description = "Also scan node_modules, vendor, virtualenvs and similar dependency folders" };
        var history = new Option<bool>("--git-history") { Description = "Scan every blob reachable in the repository's git history instead of the working tree" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never draw the progress line on the terminal" };

        var command = new Command("scan", "Find secrets in files an agent can read: .env files, configs, rule files, notebooks, scripts, git history")
        {
            paths, format, output, failOn, baseline, showSecrets, maxSize, vendored, history, threads, noProgress,
        };
        command.SetAction((ParseResult parse, CancellationToken ct) => Task.FromResult(Run(
            parse.GetValue(paths) is { Length: > 0 } p ? p : ["."], parse.GetValue(format)!, parse.GetValue(output), parse.GetValue(failOn)!,
            parse.GetValue(baseline), parse.GetValue(showSecrets), parse.GetValue(maxSize)!, parse.GetValue(vendored),
            parse.GetValue(history), parse.GetValue(threads), parse.GetValue(noProgress), ct)));
        return command;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"writ scan: {message}");
        return 2;
    }

    private static int Run(string[] paths, string formatName, string? outputPath, string failOnName, string? baselinePath, bool showSecrets,
        string maxSizeText, bool includeVendored, bool gitHistory, int threads, bool noProgress, CancellationToken ct)
    {
        if (!Enum.TryParse<ReportFormat>(formatName, ignoreCase: true, out var format))
            return Usage($"unknown --format '{formatName}'; use table, json or sarif");
        Severity? failOn = failOnName.ToLowerInvariant() switch
        {
            "low" => Severity.Low, "medium" => Severity.Medium, "high" => Severity.High, "critical" => Severity.Critical, "never" => null,
            _ => (Severity)(-1),
        };
        if (failOn is (Severity)(-1)) return Usage($"unknown --fail-on '{failOnName}'; use low, medium, high, critical or never");
        if (!TryParseSize(maxSizeText, out var maxSize)) return Usage($"cannot read --max-file-size '{maxSizeText}'; write a size like 10MB, 512KB or 0 for no limit");
        if (threads < 1) return Usage("--threads must be at least 1");
        foreach (var p in paths)
            if (!File.Exists(p) && !Directory.Exists(p)) return Usage($"'{p}' does not exist; pass files or directories to scan");
        if (gitHistory && (paths.Length != 1 || !Directory.Exists(paths[0])))
            return Usage("--git-history takes exactly one path: the repository's directory");

        Baseline? known = null;
        if (baselinePath is not null)
        {
            if (!File.Exists(baselinePath)) return Usage($"baseline '{baselinePath}' does not exist; create it with `writ scan --format json --output {baselinePath}`");
            try { known = Baseline.Load(baselinePath); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return Usage(e.Message); }
        }

        var options = new ScanOptions { MaxFileSize = maxSize, IncludeVendored = includeVendored, Parallelism = threads };
        ScanReport report;
        try
        {
            if (gitHistory) report = new GitHistoryScanner(options).Scan(paths[0], ct);
            else
            {
                var scanner = new WorkspaceScanner(options);
                using var progress = !noProgress && !Console.IsErrorRedirected ? new ProgressLine(scanner) : null;
                report = scanner.Scan(paths, ct);
            }
        }
        catch (InvalidOperationException e) { return Usage(e.Message); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Usage($"cannot read the workspace: {e.Message}"); }
        catch (OperationCanceledException) { return Usage("cancelled"); }

        if (known is not null)
        {
            var before = report.Findings.Count;
            report.Findings.RemoveAll(known.Contains);
            report.SuppressedByBaseline = before - report.Findings.Count;
        }

        try
        {
            if (outputPath is null) ReportWriter.Write(report, format, Console.Out, showSecrets);
            else
            {
                // A write that fails half way (a full disk) leaves no half report behind.
                AtomicFile.WriteAsync(outputPath, file =>
                {
                    ReportWriter.Write(report, format, file, showSecrets);
                    return Task.CompletedTask;
                }).GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Usage($"cannot write '{outputPath}': {e.Message}"); }

        foreach (var e in report.Errors.Take(20)) Console.Error.WriteLine($"writ scan: warning: could not read {e.Path}: {e.Message}");
        if (report.FilesScanned == 0 && report.Errors.Count > 0) return Usage("no file could be read; check the permissions");
        return failOn is { } threshold && report.Findings.Any(f => f.Severity >= threshold) ? 1 : 0;
    }

    internal static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var t = text.Trim().ToUpperInvariant().Replace("IB", "B");
        long mult = 1;
        foreach (var (suffix, m) in new[] { ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1L) })
            if (t.EndsWith(suffix, StringComparison.Ordinal)) { mult = m; t = t[..^suffix.Length]; break; }
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < 0) return false;
        bytes = (long)(v * mult);
        return true;
    }

    /// <summary>A one-line progress display on stderr, only on a terminal and only once a scan has run for a second.</summary>
    private sealed class ProgressLine : IDisposable
    {
        private readonly WorkspaceScanner _scanner;
        private readonly Timer _timer;
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private bool _drawn;
        private int _frame;

        public ProgressLine(WorkspaceScanner scanner)
        {
            _scanner = scanner;
            _timer = new Timer(_ => Draw(), null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));
        }

        private void Draw()
        {
            var p = _scanner.Progress;
            var mib = p.Bytes / 1048576.0;
            const string spin = "|/-\\";
            var width = 24;
            var filled = _frame++ % (width + 1);
            var bar = new string('=', filled).PadRight(width);
            Console.Error.Write($"\r[{bar}] {spin[_frame % 4]} {p.Files:N0} files  {mib:F1} MiB  {mib / Math.Max(0.001, _sw.Elapsed.TotalSeconds):F0} MiB/s ");
            _drawn = true;
        }

        public void Dispose()
        {
            _timer.Dispose();
            if (_drawn) Console.Error.Write("\r" + new string(' ', 79) + "\r");
        }
    }
}
