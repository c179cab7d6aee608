using Writ.Core.Audit;
using Writ.Core.Storage;

namespace Writ.Core.Tests.Audit;

public sealed class AuditWriterTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static AuditAppend Item(int i) =>
        new(new AuditEvent(T0.AddSeconds(i), ActorKinds.System, "writ", null, null, $"test.{i}", null, null, null, null, Decisions.Info, null, null, 0, null));

    /// <summary>An in-memory chain; can hold a commit open (to let callers queue up) and fail chosen batches.</summary>
    private sealed class FakeAuditStore : IAuditStore
    {
        private readonly List<AuditRecord> _records = [];
        private readonly object _gate = new();
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int> BatchSizes { get; } = [];

        /// <summary>Each commit's size and the thread it ran on: "pool", or the thread's name.</summary>
        public List<(int Size, string? Thread)> Commits { get; } = [];

        public List<int> CommitThreadIds { get; } = [];

        public TaskCompletionSource FirstCommitEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool HoldFirstCommit { get; init; }

        public Func<int, Exception?> FailBatch { get; init; } = _ => null;

        public IReadOnlyList<AuditRecord> Records
        {
            get { lock (_gate) return _records.ToList(); }
        }

        public void Release() => _release.TrySetResult();

        public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditAppend> batch, CancellationToken ct)
        {
            int number;
            lock (_gate)
            {
                BatchSizes.Add(batch.Count);
                Commits.Add((batch.Count, Thread.CurrentThread.IsThreadPoolThread ? "pool" : Thread.CurrentThread.Name));
                CommitThreadIds.Add(Environment.CurrentManagedThreadId);
                number = BatchSizes.Count;
            }
            if (number == 1 && HoldFirstCommit)
            {
                FirstCommitEntered.TrySetResult();
                await _release.Task;
            }
            if (FailBatch(number) is { } failure) throw failure;
            lock (_gate)
            {
                var result = new List<AuditRecord>();
                foreach (var item in batch)
                {
                    var r = AuditChain.Link(_records.Count + 1, _records.Count == 0 ? AuditChain.GenesisHash : _records[^1].Hash, item.Event);
                    _records.Add(r);
                    result.Add(r);
                }
                return result;
            }
        }

        public Task<IReadOnlyList<AuditRecord>> SearchAsync(AuditQuery query, CancellationToken ct) => throw new NotSupportedException();

        public IAsyncEnumerable<AuditRecord> ReadAllAsync(CancellationToken ct) => throw new NotSupportedException();

        public Task<AuditRecord?> GetHeadAsync(CancellationToken ct) => throw new NotSupportedException();

        public Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct) => throw new NotSupportedException();

        public Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(CancellationToken ct) => throw new NotSupportedException();
    }

    /// <summary>
    /// One caller's commit is held open while <paramref name="queued"/> more callers queue behind it; then it is released.
    /// Returns every caller's record, the first one's first.
    /// </summary>
    private static async Task<AuditRecord[]> AppendWhileFirstCommitIsHeldAsync(FakeAuditStore store, AuditWriter writer, int queued)
    {
        var first = writer.AppendAsync(Item(0), CancellationToken.None);
        await store.FirstCommitEntered.Task;
        var behind = Enumerable.Range(1, queued).Select(i => writer.AppendAsync(Item(i), CancellationToken.None)).ToList();
        store.Release();
        return await Task.WhenAll(behind.Prepend(first));
    }

    [Fact]
    public async Task Append_LoneCaller_IsCommittedAtOnce()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store);

        var record = await writer.AppendAsync(Item(1), CancellationToken.None);

        Assert.Equal(1, record.Seq);
        Assert.Equal([1], store.BatchSizes);
    }

    [Fact]
    public async Task Append_CallersArrivingDuringACommit_ShareTheNextCommit()
    {
        var store = new FakeAuditStore { HoldFirstCommit = true };
        await using var writer = new AuditWriter(store);

        var records = await AppendWhileFirstCommitIsHeldAsync(store, writer, 50);

        Assert.Equal([1, 50], store.BatchSizes);
        // Every caller gets its own record, in the order it queued.
        Assert.Equal(Enumerable.Range(1, 51).Select(i => (long)i), records.Select(r => r.Seq));
        Assert.All(records, (r, i) => Assert.Equal($"test.{i}", r.Event.Action));
    }

    [Fact]
    public async Task Append_OnAPoolWorkerWithTheWriterIdle_IsCommittedByTheCallerItself()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store);

        var (callerThread, committed) = await Task.Run(() =>
        {
            var append = writer.AppendAsync(Item(1), CancellationToken.None);
            return (Environment.CurrentManagedThreadId, append.IsCompleted);
        });

        // Done before AppendAsync returned, on the caller's own worker: no thread had to wake up for it.
        Assert.True(committed);
        Assert.Equal([(1, "pool")], store.Commits);
        Assert.Equal(callerThread, store.CommitThreadIds[0]);
    }

    [Fact]
    public async Task Append_QueuedDuringACommit_IsCommittedOnTheWritersOwnThread()
    {
        var store = new FakeAuditStore { HoldFirstCommit = true };
        await using var writer = new AuditWriter(store);

        await Task.Run(() => AppendWhileFirstCommitIsHeldAsync(store, writer, 5));

        // What queues under load is committed off the pool (a SQLite commit holds its thread in the fsync).
        Assert.Equal([(1, "pool"), (5, "writ audit writer")], store.Commits);
    }

    [Fact]
    public async Task Append_FromAThreadOfItsOwn_IsCommittedOnTheWritersOwnThread()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store);
        Task<AuditRecord>? append = null;

        // Such a thread (an MCP downstream's reader) must not block in a commit.
        var reader = new Thread(() => append = writer.AppendAsync(Item(1), CancellationToken.None)) { Name = "a reader" };
        reader.Start();
        reader.Join();
        await append!;

        Assert.Equal([(1, "writ audit writer")], store.Commits);
    }

    [Fact]
    public async Task AppendAll_OnAPoolWorker_IsOneCommitInOrder()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store);

        // A standalone gateway's batch: one commit, not one per record committed by its caller one after another.
        var records = await Task.Run(() => writer.AppendAllAsync([Item(0), Item(1), Item(2)], CancellationToken.None));

        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Seq));
        Assert.Equal(["test.0", "test.1", "test.2"], records.Select(r => r.Event.Action));
        Assert.Equal([3], store.BatchSizes);
    }

    [Fact]
    public async Task Append_ManyQueued_BatchesAreCappedAtMaxBatch()
    {
        var store = new FakeAuditStore { HoldFirstCommit = true };
        await using var writer = new AuditWriter(store, maxBatch: 8);

        await AppendWhileFirstCommitIsHeldAsync(store, writer, 50);

        Assert.Equal([1, 8, 8, 8, 8, 8, 8, 2], store.BatchSizes);
    }

    [Fact]
    public async Task Append_ConcurrentCallers_ProduceOneChainWithFewerCommitsThanEvents()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store);

        var records = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => Task.Run(() => writer.AppendAsync(Item(i), CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 2000).Select(i => (long)i), records.Select(r => r.Seq).Order());
        Assert.Equal(2000, store.BatchSizes.Sum());
        var report = await AuditChain.VerifyAsync(store.Records.ToAsyncEnumerable(), [], _ => true, CancellationToken.None);
        Assert.True(report.Ok);
    }

    [Fact]
    public async Task Append_AndDefer_FromPoolAndOwnThreadsInBursts_EveryRecordIsCommitted()
    {
        // Liveness under the hand-offs between callers committing themselves, the writer's thread and the defer timer:
        // a record queued while its committer lets go must never be left with nobody to commit it (a hang fails here).
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromMilliseconds(1));
        var n = 0;
        for (var round = 0; round < 300; round++)
        {
            var onThread = new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
            var i = n;
            new Thread(() => writer.AppendAsync(Item(i), CancellationToken.None).ContinueWith(t => onThread.TrySetResult(t.Result), TaskScheduler.Default)).Start();
            var burst = new[]
            {
                onThread.Task,
                Task.Run(() => writer.AppendAsync(Item(i + 1), CancellationToken.None)),
                Task.Run(() => writer.AppendAsync(Item(i + 2), CancellationToken.None)),
                Task.Run(() => writer.DeferAsync(Item(i + 3))),
            };
            n += burst.Length;
            await Task.WhenAll(burst).WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(n, store.Records.Count);
        var report = await AuditChain.VerifyAsync(store.Records.ToAsyncEnumerable(), [], _ => true, CancellationToken.None);
        Assert.True(report.Ok);
    }

    [Fact]
    public async Task Append_StoreFails_EveryWaiterOfThatBatchSeesTheFailure()
    {
        var failure = new InvalidOperationException("disk full");
        var store = new FakeAuditStore { HoldFirstCommit = true, FailBatch = n => n == 2 ? failure : null };
        await using var writer = new AuditWriter(store);

        var first = writer.AppendAsync(Item(0), CancellationToken.None);
        await store.FirstCommitEntered.Task;
        var doomed = Enumerable.Range(1, 20).Select(i => writer.AppendAsync(Item(i), CancellationToken.None)).ToList();
        store.Release();

        Assert.Equal(1, (await first).Seq);
        foreach (var t in doomed) Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => t));
        Assert.Single(store.Records);

        // The writer keeps going: the next caller is committed normally.
        Assert.Equal(2, (await writer.AppendAsync(Item(99), CancellationToken.None)).Seq);
    }

    [Fact]
    public async Task Append_CancelledBeforePickedUp_IsNotWritten()
    {
        var store = new FakeAuditStore { HoldFirstCommit = true };
        await using var writer = new AuditWriter(store);
        var first = writer.AppendAsync(Item(0), CancellationToken.None);
        await store.FirstCommitEntered.Task;

        using var cts = new CancellationTokenSource();
        var abandoned = writer.AppendAsync(Item(1), cts.Token);
        var kept = writer.AppendAsync(Item(2), CancellationToken.None);
        cts.Cancel();
        store.Release();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.Equal(2, (await kept).Seq);
        Assert.Equal(["test.0", "test.2"], store.Records.Select(r => r.Event.Action));
        await first;
    }

    [Fact]
    public async Task Dispose_CommitsWhatIsQueuedThenRefusesNewEvents()
    {
        var store = new FakeAuditStore { HoldFirstCommit = true };
        var writer = new AuditWriter(store);
        var first = writer.AppendAsync(Item(0), CancellationToken.None);
        await store.FirstCommitEntered.Task;
        var queued = Enumerable.Range(1, 10).Select(i => writer.AppendAsync(Item(i), CancellationToken.None)).ToList();

        var disposing = writer.DisposeAsync().AsTask();
        store.Release();
        await disposing;

        Assert.All(queued.Prepend(first), t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(11, store.Records.Count);
        Assert.Throws<ObjectDisposedException>(() => { _ = writer.AppendAsync(Item(99), CancellationToken.None); });
    }

    [Fact]
    public async Task Defer_ThenADurableAppend_ShareOneCommit()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromHours(1));

        var deferred = writer.DeferAsync(Item(0));
        var durable = await writer.AppendAsync(Item(1), CancellationToken.None);

        Assert.Equal(2, durable.Seq);
        Assert.Equal(1, (await deferred).Seq);
        Assert.Equal([2], store.BatchSizes);
    }

    [Fact]
    public async Task Defer_Alone_IsCommittedWithoutAnyOtherCaller()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromMilliseconds(1));

        var record = await writer.DeferAsync(Item(0));

        Assert.Equal(1, record.Seq);
        Assert.Equal([1], store.BatchSizes);
    }

    [Fact]
    public async Task Defer_AfterADurableCommitTookTheEarlierOne_IsStillCommittedByTheTimer()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromMilliseconds(20));

        // The first deferred record sets the timer; a durable append takes it along; the timer is left running.
        var first = writer.DeferAsync(Item(0));
        await writer.AppendAsync(Item(1), CancellationToken.None);
        await first;
        // When that timer runs out, the record queued since is younger than the wait: the timer is set again for the
        // rest, and the record is committed then, with no durable caller coming.
        var later = await writer.DeferAsync(Item(2)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, later.Seq);
        Assert.Equal([2, 1], store.BatchSizes);
    }

    [Fact]
    public async Task Flush_ReturnsOnceEveryDeferredEventIsCommitted()
    {
        var store = new FakeAuditStore();
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromHours(1));

        var deferred = Enumerable.Range(0, 3).Select(i => writer.DeferAsync(Item(i))).ToList();
        await writer.FlushAsync(CancellationToken.None);

        Assert.All(deferred, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.Equal(3, store.Records.Count);
    }

    [Fact]
    public async Task Defer_StoreFails_TheDeferredTaskFaultsAndTheNextDurableCallerStillFailsClosed()
    {
        var failure = new InvalidOperationException("disk full");
        var store = new FakeAuditStore { FailBatch = _ => failure };
        await using var writer = new AuditWriter(store, deferDelay: TimeSpan.FromMilliseconds(1));

        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => writer.DeferAsync(Item(0))));
        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => writer.AppendAsync(Item(1), CancellationToken.None)));
        Assert.Empty(store.Records);
    }

    [Fact]
    public async Task Dispose_CommitsDeferredEvents()
    {
        var store = new FakeAuditStore();
        var writer = new AuditWriter(store, deferDelay: TimeSpan.FromHours(1));
        var deferred = writer.DeferAsync(Item(0));

        await writer.DisposeAsync();

        Assert.True(deferred.IsCompletedSuccessfully);
        Assert.Single(store.Records);
    }
}
