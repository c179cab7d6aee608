using System.Diagnostics;
using System.Globalization;
using Writ.Core.Audit;
using Writ.Core.Storage;
using Writ.Storage;

namespace Writ.Benchmarks;

/// <summary>
/// Durable audit throughput next to its physical floor, in one run: (a) how many 256-byte append+fsync
/// round trips the disk does per second, (b) durable audit events per second through <see cref="AuditWriter"/>
/// on SQLite at several concurrency levels, (c) the same on PostgreSQL when <c>--postgres</c> is given.
/// With one appender every event costs an fsync, so (b) ≈ (a); group commit is what lifts it above the floor.
/// </summary>
/// <remarks>
/// Usage: <c>audit-append [--seconds 5] [--dir /var/tmp] [--concurrency 1,8,64,256] [--postgres "Host=…;Database=…"]</c>.
/// The PostgreSQL database is written to (audit rows accumulate); use a scratch database.
/// </remarks>
public static class AuditAppendBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = 5.0;
        var dir = Path.GetTempPath();
        int[] levels = [1, 8, 64, 256];
        string? postgres = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--dir": dir = Next(); break;
                case "--concurrency": levels = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--postgres": postgres = Next(); break;
                case "-h" or "--help":
                    Console.WriteLine("audit-append [--seconds 5] [--dir DIR] [--concurrency 1,8,64,256] [--postgres CONNECTION-STRING]");
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        var work = Path.Combine(Path.GetFullPath(dir), "writ-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            Console.WriteLine($"audit append benchmark: {seconds:0.#} s per measurement, dir {work}, {Environment.ProcessorCount} cores");
            var fsyncs = MeasureFsync(Path.Combine(work, "fsync.bin"), seconds);
            var datasyncs = OperatingSystem.IsLinux() ? MeasureOverwriteDatasync(Path.Combine(work, "fdatasync.bin"), seconds) : double.NaN;
            Console.WriteLine();
            Console.WriteLine($"{"engine",-10} {"appenders",9} {"events/s",12} {"commits/s",10} {"events/commit",14} {"vs fsync floor",15}");
            Console.WriteLine($"{"fsync",-10} {1,9} {fsyncs,12:N0} {fsyncs,10:N0} {1,14:N1} {1,14:N2}x   (append 256 B + fsync: the floor)");
            if (!double.IsNaN(datasyncs))
            {
                Console.WriteLine($"{"fdatasync",-10} {1,9} {datasyncs,12:N0} {datasyncs,10:N0} {1,14:N1} {datasyncs / fsyncs,14:N2}x   (overwrite 256 B in a preallocated file + fdatasync: a recycled WAL's cost)");
            }

            await using (var sqlite = await WritStores.Open("sqlite:" + Path.Combine(work, "writ.db"), CancellationToken.None))
            {
                foreach (var n in levels) await MeasureAsync("sqlite", sqlite, n, seconds, fsyncs);
            }
            if (postgres is not null)
            {
                await using var pg = await WritStores.Open(postgres.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) ? postgres : "postgres:" + postgres, CancellationToken.None);
                foreach (var n in levels) await MeasureAsync("postgres", pg, n, seconds, fsyncs);
            }
            Console.WriteLine();
            Console.WriteLine("events/s: durable appends completed per second (each caller awaits its commit).");
            Console.WriteLine("vs fsync floor: events/s divided by the disk's 256 B append+fsync rate in the same directory.");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Appends 256 bytes and fsyncs (FileStream.Flush(true) is fsync on Unix), as a WAL commit does, for <paramref name="seconds"/>.</summary>
    private static double MeasureFsync(string path, double seconds)
    {
        var block = new byte[256];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        long count = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            file.Write(block);
            file.Flush(flushToDisk: true);
            count++;
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// What SQLite (WAL, fdatasync) and PostgreSQL (preallocated WAL segments) pay per commit once their log
    /// no longer grows: no file-size metadata to journal. Shown for context next to the append+fsync floor.
    /// </summary>
    private static double MeasureOverwriteDatasync(string path, double seconds)
    {
        var block = new byte[256];
        const int span = 4 << 20;
        using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        file.SetLength(span);
        file.Write(new byte[span]);
        file.Flush(flushToDisk: true);
        var fd = (int)file.SafeFileHandle.DangerousGetHandle();
        long count = 0, offset = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            RandomAccess.Write(file.SafeFileHandle, block, offset);
            offset = (offset + block.Length) % span;
            if (fdatasync(fd) != 0) throw new IOException("fdatasync failed");
            count++;
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(int fd);

    private static async Task MeasureAsync(string engine, IWritStore store, int appenders, double seconds, double fsyncs)
    {
        var commits = new CountingStore(store.Audit);
        await using var writer = new AuditWriter(commits);
        // Warm-up: connections, prepared statements, JIT.
        for (var i = 0; i < 50; i++) await writer.AppendAsync(Item(i), CancellationToken.None);
        commits.Reset();

        long events = 0;
        var sw = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var tasks = Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            long mine = 0;
            while (sw.Elapsed < deadline)
            {
                await writer.AppendAsync(Item(a), CancellationToken.None);
                mine++;
            }
            Interlocked.Add(ref events, mine);
        })).ToArray();
        await Task.WhenAll(tasks);
        var elapsed = sw.Elapsed.TotalSeconds;

        var rate = events / elapsed;
        var commitRate = commits.Commits / elapsed;
        Console.WriteLine($"{engine,-10} {appenders,9} {rate,12:N0} {commitRate,10:N0} {events / (double)Math.Max(1, commits.Commits),14:N1} {rate / fsyncs,14:N2}x");
    }

    private static AuditAppend Item(int i) => new(new AuditEvent(
        DateTimeOffset.UnixEpoch.AddDays(20_000).AddTicks(i), ActorKinds.AiAgent, "bench-bot@staging", "alice@example.com", "task_bench",
        "token.issue", "crm", "staging", "crm:read", "customers/12345", Decisions.Allow, null, 7, 84, "{\"ttl\":300}"));

    /// <summary>Counts commits (store calls) to show the batch size group commit reached.</summary>
    private sealed class CountingStore(IAuditStore inner) : IAuditStore
    {
        private long _commits;

        public long Commits => Interlocked.Read(ref _commits);

        public void Reset() => Interlocked.Exchange(ref _commits, 0);

        public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct)
        {
            var result = await inner.AppendAsync(batch, ct);
            Interlocked.Increment(ref _commits);
            return result;
        }

        public Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct) => inner.SearchAsync(query, ct);

        public IAsyncEnumerable<AuditRecord> ReadAllAsync(CancellationToken ct) => inner.ReadAllAsync(ct);

        public Task<AuditRecord?> GetHeadAsync(CancellationToken ct) => inner.GetHeadAsync(ct);

        public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct) => inner.AddCheckpointAsync(checkpoint, ct);

        public Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct) => inner.ListCheckpointsAsync(ct);
    }
}
