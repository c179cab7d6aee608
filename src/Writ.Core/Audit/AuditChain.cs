using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Audit;

/// <summary>One finding of <see cref="AuditChain.VerifyAsync"/>: the row (sequence number) and what is wrong with it.</summary>
/// <param name="Kind">One of <see cref="AuditProblemKinds"/>.</param>
public sealed record AuditProblem(long Seq, string Kind, string Message);

/// <summary>The outcome of verifying the whole chain and its checkpoints.</summary>
/// <param name="Records">How many rows were read.</param>
/// <param name="HeadSeq">The sequence number of the last row, or null for an empty log.</param>
public sealed record AuditVerifyReport(bool Ok, long Records, long? HeadSeq, IReadOnlyList<AuditProblem> Problems);

/// <summary>Stable names for the kinds of tampering <c>writ audit verify</c> reports.</summary>
public static class AuditProblemKinds
{
    /// <summary>A row's content no longer matches its hash (or its hash was recomputed and the next row disagrees).</summary>
    public const string Edited = "edited";
    /// <summary>One or more rows are missing: a gap in the sequence, or the next row links to a row that is gone.</summary>
    public const string Deleted = "deleted";
    /// <summary>A row that is not part of the chain: the row after it links over it to the row before it.</summary>
    public const string Inserted = "inserted";
    /// <summary>Rows out of chain order.</summary>
    public const string Reordered = "reordered";
    /// <summary>A valid signed checkpoint disagrees with the chain at its sequence number: the chain was rewritten from some point on.</summary>
    public const string Rewritten = "rewritten";
    /// <summary>A valid signed checkpoint names a row beyond the end of the log: the tail was cut off.</summary>
    public const string Truncated = "truncated";
    /// <summary>A checkpoint whose signature does not verify; it is ignored for the other checks.</summary>
    public const string BadCheckpoint = "bad_checkpoint";
}

/// <summary>
/// The audit log's hash chain (security invariant 7): each record's hash covers its sequence number,
/// the previous record's hash and every field of its event, so any edit, deletion, insertion or
/// reordering breaks the chain; signed checkpoints make a rewrite of the whole tail detectable.
/// </summary>
/// <remarks>
/// The hash is SHA-256 over a length-prefixed binary encoding (<see cref="Encode"/>), with a domain tag
/// and a fixed field order; a null string and an empty string encode differently. Timestamps are
/// normalised to whole microseconds UTC before hashing, which is what the stores keep.
/// </remarks>
public static class AuditChain
{
    /// <summary>The <c>prev_hash</c> of the first record.</summary>
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>The first sequence number of a log.</summary>
    public const long FirstSeq = 1;

    private static ReadOnlySpan<byte> RecordTag => "writ.audit.record.v1\n"u8;

    /// <summary>Chains <paramref name="e"/> at <paramref name="seq"/> after a record whose hash is <paramref name="prevHash"/>.</summary>
    public static AuditRecord Link(long seq, string prevHash, AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(prevHash);
        ArgumentNullException.ThrowIfNull(e);
        var normalized = e.At.Offset == TimeSpan.Zero && e.At.UtcTicks % TimeSpan.TicksPerMicrosecond == 0
            ? e
            : e with { At = UnixMicros.Normalize(e.At) };
        return new AuditRecord(seq, normalized, prevHash, ComputeHash(seq, prevHash, normalized));
    }

    /// <summary>The hash a record with these contents must carry.</summary>
    public static string ComputeHash(long seq, string prevHash, AuditEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Encode(buffer, seq, prevHash, e);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// The bytes the server signs (ES256) for a checkpoint "the chain up to <paramref name="seq"/> ends in <paramref name="hash"/>".
    /// ASCII text with a domain tag, so a checkpoint signature can never be mistaken for a token signature.
    /// </summary>
    public static byte[] CheckpointPayload(long seq, string hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return Encoding.UTF8.GetBytes($"writ.audit.checkpoint.v1\nseq={seq.ToString(System.Globalization.CultureInfo.InvariantCulture)}\nhash={hash}\n");
    }

    /// <summary>
    /// Walks the log once, in order, holding only the current row and one row of lookahead, and reports every
    /// problem with the row it concerns. Checkpoints whose signature <paramref name="checkpointSignatureIsValid"/>
    /// rejects are reported as <c>bad_checkpoint</c> and not trusted for the rewrite and truncation checks.
    /// </summary>
    public static async Task<AuditVerifyReport> VerifyAsync(
        IAsyncEnumerable<AuditRecord> records,
        IReadOnlyList<AuditCheckpoint> checkpoints,
        Func<AuditCheckpoint, bool> checkpointSignatureIsValid,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(checkpointSignatureIsValid);

        var problems = new List<AuditProblem>();
        var trusted = new List<AuditCheckpoint>();
        foreach (var cp in checkpoints.OrderBy(c => c.Seq))
        {
            if (checkpointSignatureIsValid(cp)) trusted.Add(cp);
            else problems.Add(new(cp.Seq, AuditProblemKinds.BadCheckpoint, $"the checkpoint at seq {cp.Seq} (key {cp.KeyId}) has an invalid signature; it is ignored"));
        }

        var walker = new Walker(problems, trusted);
        await using (var e = records.GetAsyncEnumerator(ct))
        {
            var cur = await e.MoveNextAsync() ? e.Current : null;
            while (cur is not null)
            {
                ct.ThrowIfCancellationRequested();
                var next = await e.MoveNextAsync() ? e.Current : null;
                if (walker.Step(cur, next)) next = await e.MoveNextAsync() ? e.Current : null;
                cur = next;
            }
        }
        walker.Finish();
        // One finding per row and kind (a forged hash shows both on its own row and on the next row's link).
        var distinct = problems.DistinctBy(p => (p.Seq, p.Kind)).OrderBy(p => p.Seq).ToList();
        return new AuditVerifyReport(distinct.Count == 0, walker.Records, walker.HeadSeq, distinct);
    }

    private sealed class Walker(List<AuditProblem> problems, List<AuditCheckpoint> checkpoints)
    {
        private string _prevHash = GenesisHash;
        // The position in the chain the hashes were computed at; differs from the stored seq by _shift
        // after rows were deleted or inserted and the rest renumbered.
        private long _prevChainSeq;
        private long _shift;
        private long _prevStoredSeq;
        private int _nextCheckpoint;

        public long Records { get; private set; }

        public long? HeadSeq { get; private set; }

        /// <summary>Checks <paramref name="cur"/>; returns true when it also consumed <paramref name="next"/>.</summary>
        public bool Step(AuditRecord cur, AuditRecord? next)
        {
            Records++;
            HeadSeq = cur.Seq;

            // Two rows that link to each other the wrong way round: swapped (by seq value or by position).
            if (next is not null && cur.PrevHash == next.Hash && next.PrevHash == _prevHash)
            {
                Records++;
                HeadSeq = Math.Max(cur.Seq, next.Seq);
                var (first, second) = (next, cur);
                problems.Add(new(cur.Seq, AuditProblemKinds.Reordered,
                    $"rows {cur.Seq} and {next.Seq} are out of order: row {first.Seq} (chained at {_prevChainSeq + 1}) comes before row {second.Seq}"));
                if (!HashMatches(first, _prevChainSeq + 1)) problems.Add(Edited(first));
                if (!HashMatches(second, _prevChainSeq + 2)) problems.Add(Edited(second));
                Accept(first, _prevChainSeq + 1);
                Accept(second, _prevChainSeq + 1);
                return true;
            }

            // The next row links over this one to the row before it: this one does not belong.
            if (next is not null && next.PrevHash != cur.Hash && next.PrevHash == _prevHash)
            {
                problems.Add(new(cur.Seq, AuditProblemKinds.Inserted,
                    $"row {cur.Seq} is not part of the chain: row {next.Seq} links to the row before it"));
                // Rows after an insertion may have been renumbered to make room.
                _shift = next.Seq - (_prevChainSeq + 1);
                return false;
            }

            var chainSeq = cur.Seq - _shift;
            if (chainSeq <= _prevChainSeq)
            {
                problems.Add(new(cur.Seq, AuditProblemKinds.Reordered,
                    $"row {cur.Seq} appears after row {_prevStoredSeq}: rows are out of order"));
                return false;
            }

            var linked = cur.PrevHash == _prevHash;
            var selfOk = HashMatches(cur, chainSeq);
            if (chainSeq > _prevChainSeq + 1)
            {
                var from = _prevChainSeq + 1 + _shift;
                var to = cur.Seq - 1;
                problems.Add(new(from, AuditProblemKinds.Deleted, from == to
                    ? $"row {from} is missing"
                    : $"rows {from} to {to} are missing"));
                if (!selfOk) problems.Add(Edited(cur));
            }
            else if (!linked)
            {
                if (selfOk)
                {
                    problems.Add(new(_prevStoredSeq, AuditProblemKinds.Edited,
                        $"row {_prevStoredSeq} was changed and its hash recomputed: row {cur.Seq} links to a different hash"));
                }
                else if (HashMatches(cur, chainSeq + 1))
                {
                    // Row deleted and the following rows renumbered down to hide the gap.
                    problems.Add(new(cur.Seq, AuditProblemKinds.Deleted,
                        $"a row before row {cur.Seq} is missing and the rows after it were renumbered"));
                    _shift--;
                    chainSeq++;
                }
                else
                {
                    problems.Add(Edited(cur));
                }
            }
            else if (!selfOk)
            {
                problems.Add(Edited(cur));
            }

            Accept(cur, chainSeq);
            return false;
        }

        public void Finish()
        {
            for (; _nextCheckpoint < checkpoints.Count; _nextCheckpoint++)
            {
                var cp = checkpoints[_nextCheckpoint];
                if (cp.Seq > _prevChainSeq)
                {
                    problems.Add(new(cp.Seq, AuditProblemKinds.Truncated, _prevChainSeq == 0
                        ? $"a signed checkpoint names row {cp.Seq} but the log is empty"
                        : $"a signed checkpoint names row {cp.Seq} but the log ends at row {_prevChainSeq}"));
                }
            }
        }

        private void Accept(AuditRecord r, long chainSeq)
        {
            // Checkpoints are in chain positions; those we passed without meeting their row fall on deleted rows.
            while (_nextCheckpoint < checkpoints.Count && checkpoints[_nextCheckpoint].Seq < chainSeq) _nextCheckpoint++;
            while (_nextCheckpoint < checkpoints.Count && checkpoints[_nextCheckpoint].Seq == chainSeq)
            {
                var cp = checkpoints[_nextCheckpoint++];
                if (!string.Equals(cp.Hash, r.Hash, StringComparison.Ordinal))
                {
                    problems.Add(new(r.Seq, AuditProblemKinds.Rewritten,
                        $"the signed checkpoint at seq {cp.Seq} says the chain ends in {cp.Hash[..Math.Min(12, cp.Hash.Length)]}…, the log has {r.Hash[..Math.Min(12, r.Hash.Length)]}…: the chain was rewritten up to here"));
                }
            }
            _prevChainSeq = Math.Max(_prevChainSeq, chainSeq);
            _prevStoredSeq = r.Seq;
            _prevHash = r.Hash;
        }

        private static AuditProblem Edited(AuditRecord r) =>
            new(r.Seq, AuditProblemKinds.Edited, $"row {r.Seq} does not match its hash: its content was changed");

        private static bool HashMatches(AuditRecord r, long chainSeq) =>
            string.Equals(ComputeHash(chainSeq, r.PrevHash, r.Event), r.Hash, StringComparison.Ordinal);
    }

    /// <summary>
    /// The canonical encoding: domain tag, then seq (int64 BE), prev hash, time (int64 BE unix microseconds) and each
    /// event field in declaration order. Strings are <c>0x00</c> for null or <c>0x01</c>, uint32 BE length, UTF-8 bytes.
    /// </summary>
    private static void Encode(ArrayBufferWriter<byte> w, long seq, string prevHash, AuditEvent e)
    {
        w.Write(RecordTag);
        WriteInt64(w, seq);
        WriteString(w, prevHash);
        WriteInt64(w, UnixMicros.From(e.At));
        WriteString(w, e.ActorKind);
        WriteString(w, e.ActorId);
        WriteString(w, e.OnBehalfOf);
        WriteString(w, e.TaskId);
        WriteString(w, e.Action);
        WriteString(w, e.Resource);
        WriteString(w, e.Environment);
        WriteString(w, e.Scope);
        WriteString(w, e.Target);
        WriteString(w, e.Decision);
        WriteString(w, e.Reason);
        if (e.PolicyVersion is { } pv)
        {
            WriteByte(w, 1);
            BinaryPrimitives.WriteInt32BigEndian(w.GetSpan(4), pv);
            w.Advance(4);
        }
        else
        {
            WriteByte(w, 0);
        }
        WriteInt64(w, e.DurationMicros);
        WriteString(w, e.Details);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteByte(ArrayBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    private static void WriteInt64(ArrayBufferWriter<byte> w, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(w.GetSpan(8), value);
        w.Advance(8);
    }

    private static void WriteString(ArrayBufferWriter<byte> w, string? value)
    {
        if (value is null)
        {
            WriteByte(w, 0);
            return;
        }
        WriteByte(w, 1);
        var length = Encoding.UTF8.GetByteCount(value);
        BinaryPrimitives.WriteUInt32BigEndian(w.GetSpan(4), (uint)length);
        w.Advance(4);
        var written = Encoding.UTF8.GetBytes(value, w.GetSpan(length));
        w.Advance(written);
    }
}
