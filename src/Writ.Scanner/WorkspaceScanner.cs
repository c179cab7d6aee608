using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Writ.Scanner.Detection;
using Writ.Scanner.Walking;

namespace Writ.Scanner;

/// <summary>
/// Scans files and directory trees on all cores. Files up to 1 MiB are read and decoded in one go into
/// per-thread buffers; larger ones are streamed in 1 MiB chunks cut at line ends (and never inside a PEM
/// block), so memory stays flat whatever the file size.
/// </summary>
public sealed class WorkspaceScanner(ScanOptions options)
{
    internal const int ChunkBytes = 1 << 20;
    private const int BinaryProbe = 8000;
    private const int MaxCarry = 128 * 1024;

    private long _files, _bytes;

    public ScanOptions Options { get; } = options;

    /// <summary>Files and bytes scanned so far; safe to read from another thread while a scan runs.</summary>
    public ScanProgress Progress => new(Interlocked.Read(ref _files), Interlocked.Read(ref _bytes));

    /// <summary>The detector ids Writ knows, for SARIF rule tables and docs.</summary>
    public static IReadOnlyList<(string Id, string Title, Severity Severity)> Rules { get; } =
        Catalog.All.Select(d => (d.Id, d.Title, d.Severity)).ToArray();

    /// <param name="roots">Files or directories; each must exist (the caller reports a usage error otherwise).</param>
    public ScanReport Scan(IReadOnlyList<string> roots, CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        var report = new ScanReport();
        var sync = new Lock();
        foreach (var root in roots)
        {
            var isDir = Directory.Exists(root);
            var ignore = Options.UseWritIgnore && isDir ? WritIgnore.Load(root) : WritIgnore.Empty;
            long ignored = 0;
            IEnumerable<WalkItem> items = isDir
                ? Walker.Enumerate(root, root, Options, ignore, _ => Interlocked.Increment(ref ignored))
                : [new WalkItem(Path.GetFullPath(root), root.Replace('\\', '/'), new FileInfo(root).Length)];
            var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Options.Parallelism), CancellationToken = ct };
            Parallel.ForEach(Partitioner.Create(items, EnumerablePartitionerOptions.NoBuffering), po,
                () => new Worker(this, new ScanContext(Options.Time)),
                (item, _, w) => { w.ScanFile(item); return w; },
                w => { lock (sync) w.MergeInto(report, ignore); });
            report.SkippedIgnored += ignored;
        }
        report.Sort();
        report.Elapsed = sw.Elapsed;
        return report;
    }

    /// <summary>Scans text already in memory (a git blob, a test fixture) as if it were the file at <paramref name="path"/>.</summary>
    public static List<Finding> ScanText(string text, string path, TimeProvider? time = null)
    {
        var findings = new List<Finding>();
        long allowed = 0;
        ContentScanner.Scan(Engine.Default, text, new FileContext(path), new ScanContext(time ?? TimeProvider.System), 1, findings, ref allowed);
        return findings;
    }

    internal static bool LooksBinary(ReadOnlySpan<byte> head) => head[..Math.Min(head.Length, BinaryProbe)].Contains((byte)0);

    /// <summary>Per-thread state: buffers reused across files, findings merged once at the end.</summary>
    private sealed class Worker(WorkspaceScanner owner, ScanContext ctx)
    {
        private byte[] _bytes = new byte[64 * 1024];
        private char[] _chars = new char[64 * 1024];
        private readonly List<Finding> _findings = [];
        private readonly List<ScanError> _errors = [];
        private long _files, _bytesScanned, _binary, _large, _allowed;

        public void ScanFile(WalkItem item)
        {
            var max = owner.Options.MaxFileSize;
            if (max > 0 && item.Length > max) { _large++; return; }
            if (Walker.IsBinaryExtension(item.FullPath)) { _binary++; return; }
            try
            {
                using var handle = File.OpenHandle(item.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var length = RandomAccess.GetLength(handle);
                var file = new FileContext(item.DisplayPath);
                var ok = length <= ChunkBytes ? ScanWhole(handle, (int)length, file) : ScanStreaming(handle, length, file);
                if (!ok) { _binary++; return; }
                _files++; _bytesScanned += length;
                Interlocked.Increment(ref owner._files);
                Interlocked.Add(ref owner._bytes, length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _errors.Add(new ScanError(item.DisplayPath, e.Message));
            }
        }

        private bool ScanWhole(SafeFileHandle handle, int length, FileContext file)
        {
            if (_bytes.Length < length) _bytes = new byte[Math.Max(length, _bytes.Length * 2)];
            var n = 0;
            while (n < length)
            {
                var r = RandomAccess.Read(handle, _bytes.AsSpan(n, length - n), n);
                if (r == 0) break;
                n += r;
            }
            var data = _bytes.AsSpan(0, n);
            var (encoding, bom) = DetectEncoding(data);
            if (encoding is null && LooksBinary(data)) return false;
            encoding ??= Encoding.UTF8;
            data = data[bom..];
            var need = encoding.GetMaxCharCount(data.Length);
            if (_chars.Length < need) _chars = new char[Math.Max(need, _chars.Length * 2)];
            var m = encoding.GetChars(data, _chars);
            ContentScanner.Scan(Engine.Default, _chars.AsSpan(0, m), file, ctx, 1, _findings, ref _allowed);
            return true;
        }

        private bool ScanStreaming(SafeFileHandle handle, long length, FileContext file)
        {
            if (_bytes.Length < ChunkBytes) _bytes = new byte[ChunkBytes];
            if (_chars.Length < ChunkBytes + MaxCarry * 2) _chars = new char[ChunkBytes + MaxCarry * 2];
            long offset = 0;
            int carry = 0, line = 1;
            Decoder? decoder = null;
            while (true)
            {
                var n = RandomAccess.Read(handle, _bytes.AsSpan(0, ChunkBytes), offset);
                var data = _bytes.AsSpan(0, n);
                if (offset == 0)
                {
                    var (enc, bom) = DetectEncoding(data);
                    if (enc is null && LooksBinary(data)) return false;
                    decoder = (enc ?? Encoding.UTF8).GetDecoder();
                    data = data[bom..];
                }
                offset += n;
                var last = n == 0 || offset >= length;
                if (_chars.Length < carry + data.Length + 4) Array.Resize(ref _chars, carry + data.Length + 4);
                var m = decoder!.GetChars(data, _chars.AsSpan(carry), flush: last);
                var total = carry + m;
                var cut = last ? total : Cut(_chars.AsSpan(0, total));
                var part = _chars.AsSpan(0, cut);
                ContentScanner.Scan(Engine.Default, part, file, ctx, line, _findings, ref _allowed);
                line += part.Count('\n');
                carry = total - cut;
                _chars.AsSpan(cut, carry).CopyTo(_chars);
                if (last) return true;
            }
        }

        /// <summary>Where to end a chunk: after its last newline, but before an unterminated private key block.</summary>
        private static int Cut(ReadOnlySpan<char> buf)
        {
            var nl = buf.LastIndexOf('\n');
            if (nl < 0 || buf.Length - nl > MaxCarry) return buf.Length;
            var cut = nl + 1;
            var from = Math.Max(0, cut - MaxCarry / 2);
            var begin = buf[from..cut].LastIndexOf("-----BEGIN ", StringComparison.Ordinal);
            if (begin >= 0 && buf[(from + begin)..cut].IndexOf("-----END ", StringComparison.Ordinal) < 0)
            {
                var ls = buf[..(from + begin)].LastIndexOf('\n') + 1;
                if (ls > 0) cut = ls;
            }
            return cut;
        }

        private static (Encoding? Encoding, int Bom) DetectEncoding(ReadOnlySpan<byte> data)
        {
            if (data.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return (Encoding.UTF8, 3);
            if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return (Encoding.Unicode, 2);
            if (data.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return (Encoding.BigEndianUnicode, 2);
            return (null, 0);
        }

        public void MergeInto(ScanReport report, WritIgnore ignore)
        {
            foreach (var f in _findings)
            {
                if (ignore.IsAccepted(f)) report.AllowedInline++;
                else report.Findings.Add(f);
            }
            _findings.Clear();
            report.Errors.AddRange(_errors); _errors.Clear();
            report.FilesScanned += _files; report.BytesScanned += _bytesScanned;
            report.SkippedBinary += _binary; report.SkippedTooLarge += _large; report.AllowedInline += _allowed;
            _files = _bytesScanned = _binary = _large = _allowed = 0;
        }
    }
}
