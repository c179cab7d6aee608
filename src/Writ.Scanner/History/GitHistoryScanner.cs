using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Writ.Scanner.Detection;
using Writ.Scanner.Walking;

namespace Writ.Scanner.History;

/// <summary>
/// Scans every blob reachable from any ref, once per distinct blob, and attributes each finding to the
/// oldest commit that introduced that blob at that path. Two git processes: <c>git log --all --raw</c>
/// (which blob appeared where and when) and one <c>git cat-file --batch</c> streaming the contents.
/// </summary>
public sealed class GitHistoryScanner(ScanOptions options)
{
    /// <exception cref="InvalidOperationException">Not a git repository or git is missing; the message says which.</exception>
    public ScanReport Scan(string repository, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var blobs = ListBlobs(repository, ct);
        var report = new ScanReport();
        var queue = new BlockingCollection<(string Oid, string Commit, string Path, byte[] Data)>(boundedCapacity: 64);
        var results = new ConcurrentBag<Finding>();
        long files = 0, bytes = 0, binary = 0, large = 0;
        var workers = Enumerable.Range(0, Math.Max(1, options.Parallelism)).Select(_ => Task.Run(() =>
        {
            var ctx = new ScanContext(options.Time);
            foreach (var (_, commit, path, data) in queue.GetConsumingEnumerable(ct))
            {
                if (WorkspaceScanner.LooksBinary(data) || Walker.IsBinaryExtension(path)) { Interlocked.Increment(ref binary); continue; }
                var findings = new List<Finding>();
                long allowed = 0;
                ContentScanner.Scan(Engine.Default, Encoding.UTF8.GetString(data), new FileContext(path), ctx, 1, findings, ref allowed);
                foreach (var f in findings) results.Add(f with { Commit = commit });
                Interlocked.Increment(ref files);
                Interlocked.Add(ref bytes, data.Length);
            }
        }, ct)).ToArray();

        try
        {
            using var cat = Start(repository, "cat-file --batch");
            var writer = Task.Run(() =>
            {
                foreach (var oid in blobs.Keys) cat.StandardInput.Write(oid + "\n");
                cat.StandardInput.Close();
            }, ct);
            var stdout = cat.StandardOutput.BaseStream;
            var header = new StringBuilder();
            while (true)
            {
                header.Clear();
                int b;
                while ((b = stdout.ReadByte()) >= 0 && b != '\n') header.Append((char)b);
                if (b < 0) break;
                var parts = header.ToString().Split(' ');
                if (parts.Length < 3 || !long.TryParse(parts[2], out var size)) continue;   // "<oid> missing"
                var (commit, path) = blobs[parts[0]];
                if (options.MaxFileSize > 0 && size > options.MaxFileSize)
                {
                    Skip(stdout, size + 1);
                    large++;
                    continue;
                }
                var data = new byte[size];
                stdout.ReadExactly(data);
                stdout.ReadByte();
                queue.Add((parts[0], commit, path, data), ct);
            }
            writer.Wait(ct);
            cat.WaitForExit();
        }
        finally
        {
            queue.CompleteAdding();
            Task.WaitAll(workers, ct);
        }
        report.Findings.AddRange(results);
        report.FilesScanned = files; report.BytesScanned = bytes; report.SkippedBinary = binary; report.SkippedTooLarge = large;
        report.Sort();
        report.Elapsed = sw.Elapsed;
        return report;
    }

    private static void Skip(Stream s, long n)
    {
        var buf = new byte[81920];
        while (n > 0) { var r = s.Read(buf, 0, (int)Math.Min(buf.Length, n)); if (r <= 0) break; n -= r; }
    }

    /// <summary>blob id → (oldest commit that added it, its path then), from <c>git log --all --reverse --raw</c>.</summary>
    internal static Dictionary<string, (string Commit, string Path)> ListBlobs(string repository, CancellationToken ct)
    {
        var blobs = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        using var log = Start(repository, "log --all --reverse --raw --no-abbrev --no-renames --no-color --format=commit%x20%H");
        string? line, commit = null;
        while ((line = log.StandardOutput.ReadLine()) is not null)
        {
            ct.ThrowIfCancellationRequested();
            if (line.StartsWith("commit ", StringComparison.Ordinal)) { commit = line[7..]; continue; }
            if (line.Length == 0 || line[0] != ':' || commit is null) continue;
            // :100644 100644 <old> <new> M\tpath
            var tab = line.IndexOf('\t');
            if (tab < 0) continue;
            var fields = line[1..tab].Split(' ');
            if (fields.Length < 5 || fields[4] == "D" || fields[1].StartsWith("160", StringComparison.Ordinal)) continue;
            var oid = fields[3];
            if (oid.All(c => c == '0')) continue;
            blobs.TryAdd(oid, (commit, line[(tab + 1)..]));
        }
        var err = log.StandardError.ReadToEnd();
        log.WaitForExit();
        if (log.ExitCode != 0) throw new InvalidOperationException($"`git log` failed in {repository}: {err.Trim()} (is it a git repository?)");
        return blobs;
    }

    private static Process Start(string repository, string args)
    {
        var psi = new ProcessStartInfo("git", $"-C \"{repository}\" -c core.quotePath=false {args}")
        {
            RedirectStandardOutput = true, RedirectStandardError = !args.StartsWith("cat-file", StringComparison.Ordinal),
            RedirectStandardInput = args.StartsWith("cat-file", StringComparison.Ordinal), UseShellExecute = false,
        };
        try { return Process.Start(psi) ?? throw new InvalidOperationException("could not start git"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException("git is not installed or not on PATH; install git to use --git-history", e); }
    }
}
