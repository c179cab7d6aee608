using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Writ.Core.Audit;

namespace Writ.Core.Tests.Audit;

public sealed class AuditChainTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ECDsa ServerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static AuditEvent Event(int i) =>
        new(T0.AddSeconds(i), ActorKinds.AiAgent, "bot@staging", "alice@example.com", "task_1", "token.issue", "crm", "staging",
            "crm:read", $"customers/{i}", Decisions.Allow, null, 1, 100 + i, null);

    private static List<AuditRecord> Chain(int count)
    {
        var records = new List<AuditRecord>();
        var prev = AuditChain.GenesisHash;
        for (var i = 1; i <= count; i++)
        {
            var r = AuditChain.Link(i, prev, Event(i));
            records.Add(r);
            prev = r.Hash;
        }
        return records;
    }

    /// <summary>Re-links records from <paramref name="from"/> on, as an attacker with database access would after editing a row.</summary>
    private static void Relink(List<AuditRecord> records, int from)
    {
        for (var i = from; i < records.Count; i++)
        {
            var prev = i == 0 ? AuditChain.GenesisHash : records[i - 1].Hash;
            records[i] = AuditChain.Link(records[i].Seq, prev, records[i].Event);
        }
    }

    private static AuditCheckpoint Checkpoint(AuditRecord r) =>
        new(r.Seq, r.Hash, T0, "k1", Convert.ToBase64String(ServerKey.SignData(AuditChain.CheckpointPayload(r.Seq, r.Hash), HashAlgorithmName.SHA256)));

    private static bool SignatureValid(AuditCheckpoint cp)
    {
        try
        {
            return ServerKey.VerifyData(AuditChain.CheckpointPayload(cp.Seq, cp.Hash), Convert.FromBase64String(cp.Signature), HashAlgorithmName.SHA256);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static async IAsyncEnumerable<AuditRecord> Stream(IEnumerable<AuditRecord> records, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var r in records)
        {
            await Task.Yield();
            yield return r;
        }
    }

    private static Task<AuditVerifyReport> Verify(IEnumerable<AuditRecord> records, params AuditCheckpoint[] checkpoints) =>
        AuditChain.VerifyAsync(Stream(records), checkpoints, SignatureValid, CancellationToken.None);

    private static void AssertOnly(AuditVerifyReport report, long seq, string kind)
    {
        Assert.False(report.Ok);
        var problem = Assert.Single(report.Problems);
        Assert.Equal((seq, kind), (problem.Seq, problem.Kind));
        Assert.False(string.IsNullOrWhiteSpace(problem.Message));
    }

    // ---------- linking ----------

    [Fact]
    public void Link_FirstRecord_ChainsFromGenesis()
    {
        var r = AuditChain.Link(1, AuditChain.GenesisHash, Event(1));
        Assert.Equal(new string('0', 64), AuditChain.GenesisHash);
        Assert.Equal(AuditChain.GenesisHash, r.PrevHash);
        Assert.Matches("^[0-9a-f]{64}$", r.Hash);
        Assert.Equal(r, AuditChain.Link(1, AuditChain.GenesisHash, Event(1)));
    }

    [Fact]
    public void Link_EachRecord_CoversSeqPrevHashAndEveryField()
    {
        var e = Event(1);
        var h = AuditChain.Link(1, AuditChain.GenesisHash, e).Hash;
        AuditEvent[] variants =
        [
            e with { At = e.At.AddTicks(10) }, e with { ActorKind = ActorKinds.Human }, e with { ActorId = "x@staging" },
            e with { OnBehalfOf = null }, e with { TaskId = "task_2" }, e with { Action = "gateway.call" }, e with { Resource = "db" },
            e with { Environment = "production" }, e with { Scope = "crm:write" }, e with { Target = null }, e with { Decision = Decisions.Deny },
            e with { Reason = "" }, e with { PolicyVersion = null }, e with { PolicyVersion = 2 }, e with { DurationMicros = 1 }, e with { Details = "{}" },
        ];
        var hashes = variants.Select(v => AuditChain.Link(1, AuditChain.GenesisHash, v).Hash).Append(h)
            .Append(AuditChain.Link(2, AuditChain.GenesisHash, e).Hash)
            .Append(AuditChain.Link(1, new string('1', 64), e).Hash)
            .ToList();
        Assert.Equal(hashes.Count, hashes.Distinct().Count());
    }

    [Fact]
    public void Link_NullAndEmptyStringsAndFieldBoundaries_HashDifferently()
    {
        var e = Event(1);
        Assert.NotEqual(AuditChain.Link(1, AuditChain.GenesisHash, e with { Reason = null }).Hash, AuditChain.Link(1, AuditChain.GenesisHash, e with { Reason = "" }).Hash);
        // Moving characters from one field to the next must change the hash (length prefixes).
        Assert.NotEqual(
            AuditChain.Link(1, AuditChain.GenesisHash, e with { Scope = "ab", Target = "c" }).Hash,
            AuditChain.Link(1, AuditChain.GenesisHash, e with { Scope = "a", Target = "bc" }).Hash);
    }

    [Fact]
    public void Link_Timestamp_IsNormalisedToMicrosecondsUtcBeforeHashing()
    {
        var precise = new DateTimeOffset(2025, 3, 1, 14, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);
        var r = AuditChain.Link(1, AuditChain.GenesisHash, Event(1) with { At = precise });

        Assert.Equal(TimeSpan.Zero, r.Event.At.Offset);
        Assert.Equal(0, r.Event.At.UtcTicks % 10);
        Assert.Equal(precise.UtcTicks - 7, r.Event.At.UtcTicks);
        // What a store hands back (whole microseconds, UTC) hashes the same.
        Assert.Equal(r, AuditChain.Link(1, AuditChain.GenesisHash, r.Event));
    }

    [Fact]
    public void CheckpointPayload_IsDomainSeparatedAndCoversSeqAndHash()
    {
        var payload = System.Text.Encoding.UTF8.GetString(AuditChain.CheckpointPayload(42, "ab"));
        Assert.StartsWith("writ.audit.checkpoint.v1\n", payload);
        Assert.NotEqual(AuditChain.CheckpointPayload(42, "ab"), AuditChain.CheckpointPayload(43, "ab"));
        Assert.NotEqual(AuditChain.CheckpointPayload(42, "ab"), AuditChain.CheckpointPayload(42, "ac"));
    }

    // ---------- verify: intact ----------

    [Fact]
    public async Task Verify_IntactChainWithCheckpoints_IsOk()
    {
        var records = Chain(10);
        var report = await Verify(records, Checkpoint(records[4]), Checkpoint(records[9]));
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(10, report.Records);
        Assert.Equal(10, report.HeadSeq);
    }

    [Fact]
    public async Task Verify_EmptyLog_IsOk()
    {
        var report = await Verify([]);
        Assert.True(report.Ok);
        Assert.Equal(0, report.Records);
        Assert.Null(report.HeadSeq);
    }

    // ---------- verify: each tamper kind is detected and named ----------

    [Fact]
    public async Task Verify_EditedRow_IsNamedEdited()
    {
        var records = Chain(10);
        records[4] = records[4] with { Event = records[4].Event with { Decision = Decisions.Deny } };
        AssertOnly(await Verify(records, Checkpoint(Chain(10)[9])), 5, AuditProblemKinds.Edited);
    }

    [Fact]
    public async Task Verify_EditedRowWithRecomputedHash_IsNamedEdited()
    {
        var records = Chain(10);
        records[4] = AuditChain.Link(5, records[3].Hash, records[4].Event with { Target = "customers/999" });
        AssertOnly(await Verify(records), 5, AuditProblemKinds.Edited);
    }

    [Fact]
    public async Task Verify_ForgedHashValue_IsNamedEdited()
    {
        var records = Chain(10);
        records[4] = records[4] with { Hash = new string('f', 64) };
        AssertOnly(await Verify(records), 5, AuditProblemKinds.Edited);
    }

    [Fact]
    public async Task Verify_DeletedRow_IsNamedDeleted()
    {
        var records = Chain(10);
        records.RemoveAt(4);
        AssertOnly(await Verify(records), 5, AuditProblemKinds.Deleted);
    }

    [Fact]
    public async Task Verify_DeletedRowsWithTheRestRenumbered_IsNamedDeleted()
    {
        var records = Chain(10);
        records.RemoveAt(4);
        for (var i = 4; i < records.Count; i++) records[i] = records[i] with { Seq = records[i].Seq - 1 };
        AssertOnly(await Verify(records), 5, AuditProblemKinds.Deleted);
    }

    [Fact]
    public async Task Verify_DeletedFirstRow_IsNamedDeleted()
    {
        var records = Chain(5);
        records.RemoveAt(0);
        AssertOnly(await Verify(records), 1, AuditProblemKinds.Deleted);
    }

    [Fact]
    public async Task Verify_InsertedRow_IsNamedInserted()
    {
        var records = Chain(10);
        // A well-formed forged row spliced in after row 5, claiming seq 6.
        records.Insert(5, AuditChain.Link(6, records[4].Hash, Event(99)));
        var report = await Verify(records);
        AssertOnly(report, 6, AuditProblemKinds.Inserted);
        Assert.Equal(11, report.Records);
    }

    [Fact]
    public async Task Verify_InsertedRowWithTheRestRenumbered_IsNamedInserted()
    {
        var records = Chain(10);
        for (var i = 5; i < records.Count; i++) records[i] = records[i] with { Seq = records[i].Seq + 1 };
        records.Insert(5, AuditChain.Link(6, records[4].Hash, Event(99)));
        AssertOnly(await Verify(records), 6, AuditProblemKinds.Inserted);
    }

    [Fact]
    public async Task Verify_SwappedRows_AreNamedReordered()
    {
        var records = Chain(10);
        (records[4], records[5]) = (records[5], records[4]);
        AssertOnly(await Verify(records), 6, AuditProblemKinds.Reordered);
    }

    [Fact]
    public async Task Verify_SwappedSeqNumbers_AreNamedReordered()
    {
        // In a database, reordering means exchanging the seq values of two rows.
        var records = Chain(10);
        (records[4], records[5]) = (records[5] with { Seq = 5 }, records[4] with { Seq = 6 });
        AssertOnly(await Verify(records), 5, AuditProblemKinds.Reordered);
    }

    [Fact]
    public async Task Verify_RowMovedFarAway_IsReported()
    {
        var records = Chain(10);
        var moved = records[2];
        records.RemoveAt(2);
        records.Add(moved);
        var report = await Verify(records);
        Assert.False(report.Ok);
        Assert.Contains(report.Problems, p => p.Seq == 3 && p.Kind is AuditProblemKinds.Deleted or AuditProblemKinds.Reordered);
    }

    [Fact]
    public async Task Verify_ChainRewrittenAfterCheckpoint_IsNamedRewritten()
    {
        var original = Chain(10);
        var checkpoint = Checkpoint(original[7]);
        var records = original.ToList();
        records[4] = records[4] with { Event = records[4].Event with { Decision = Decisions.Deny } };
        Relink(records, 4);

        // Without checkpoints a full rewrite is self-consistent: that is why checkpoints exist.
        Assert.True((await Verify(records)).Ok);
        AssertOnly(await Verify(records, checkpoint), 8, AuditProblemKinds.Rewritten);
    }

    [Fact]
    public async Task Verify_TruncatedTail_IsNamedTruncated()
    {
        var records = Chain(10);
        var checkpoint = Checkpoint(records[9]);
        records.RemoveRange(7, 3);
        var report = await Verify(records, checkpoint);
        AssertOnly(report, 10, AuditProblemKinds.Truncated);
        Assert.Equal(7, report.HeadSeq);
    }

    [Fact]
    public async Task Verify_ForgedCheckpoint_IsNamedBadCheckpointAndNotTrusted()
    {
        var records = Chain(10);
        // The attacker rewrote the chain and wrote a checkpoint for it without the server's key.
        records[2] = records[2] with { Event = records[2].Event with { Action = "noop" } };
        Relink(records, 2);
        var forged = new AuditCheckpoint(10, records[9].Hash, T0, "k1", Convert.ToBase64String(new byte[64]));

        AssertOnly(await Verify(records, forged), 10, AuditProblemKinds.BadCheckpoint);
    }

    [Fact]
    public async Task Verify_CheckpointSignedForOtherHash_IsBadCheckpoint()
    {
        var records = Chain(5);
        var genuine = Checkpoint(records[4]);
        AssertOnly(await Verify(records, genuine with { Hash = records[3].Hash }), 5, AuditProblemKinds.BadCheckpoint);
    }

    [Fact]
    public async Task Verify_SeveralProblems_AreAllReportedInSeqOrder()
    {
        var records = Chain(20);
        var checkpoint = Checkpoint(records[19]);
        records[2] = records[2] with { Event = records[2].Event with { ActorId = "someone@else" } };
        records.RemoveAt(9);
        records.RemoveRange(15, 4);
        var report = await Verify(records, checkpoint);
        Assert.Equal([(3L, "edited"), (10L, "deleted"), (20L, "truncated")], report.Problems.Select(p => (p.Seq, p.Kind)));
    }
}
