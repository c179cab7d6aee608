using System.Threading.Channels;
using Writ.Core.Storage;

namespace Writ.Core.Audit;

/// <summary>
/// Group commit for the audit log: every caller waits until its event is durable (fail closed, invariant 7),
/// but concurrent callers share one transaction, hence one fsync. A single loop drains whatever is waiting
/// (up to <c>maxBatch</c>) and appends it in one <see cref="IAuditStore.AppendAsync"/> call; while that commit
/// runs, new callers queue up and form the next batch. Nothing sleeps to wait for a batch to fill: a lone
/// caller is committed at once, and batches grow only as far as concurrency makes them.
/// <para>
/// <see cref="DeferAsync"/> is for records whose caller must not wait for durability because what they describe has
/// already happened and its decision is already durable (a gateway call's outcome, after its decision record).
/// A batch of only deferred records waits up to <c>deferDelay</c> for a durable caller to share its commit, so a
/// lone agent's call costs one commit, not two.
/// </para>
/// </summary>
public sealed class AuditWriter : IAsyncDisposable
{
    private readonly IAuditAppender _store;
    private readonly int _maxBatch;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private readonly TimeSpan _deferDelay;
    private readonly CommitThread _committer;

    public AuditWriter(IAuditAppender store, int maxBatch = 512, TimeSpan? deferDelay = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _store = store;
        _maxBatch = maxBatch;
        _deferDelay = deferDelay ?? TimeSpan.FromMilliseconds(10);
        _committer = new CommitThread(store);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Queues one event to be committed with the next batch (at most <c>deferDelay</c> later) and returns at once;
    /// the returned task completes when it is committed or faults if the commit failed, for the caller to log.
    /// Only for events whose decision is already durable: nothing may depend on this one being durable yet.
    /// </summary>
    public Task<AuditRecord> DeferAsync(AuditAppend item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var pending = new Pending(item, new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously), CancellationToken.None, Deferred: true);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(AuditWriter), "The audit writer is stopped; the event was not written.");
        return pending.Completion.Task;
    }

    /// <summary>Returns once every event queued before this call (deferred ones included) has been committed or has failed.</summary>
    public Task FlushAsync(CancellationToken ct)
    {
        var barrier = new Pending(null, new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        if (!_queue.Writer.TryWrite(barrier)) return Task.CompletedTask;
        return barrier.Completion.Task.WaitAsync(ct);
    }

    /// <summary>
    /// Appends one event (and the credential issued with it, if any) and returns once it is committed.
    /// Throws what the store threw if the commit failed: the caller must not proceed as if it were audited.
    /// Cancelling before the event is picked up abandons it; once its batch is committing, the caller waits for the outcome.
    /// </summary>
    public Task<AuditRecord> AppendAsync(AuditAppend item, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (ct.IsCancellationRequested) return Task.FromCanceled<AuditRecord>(ct);
        var pending = new Pending(item, new TaskCompletionSource<AuditRecord>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(AuditWriter), "The audit writer is stopped; the event was not written.");
        return pending.Completion.Task;
    }

    /// <summary>Stops accepting events, commits everything already queued, and waits for the loop to end.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        finally
        {
            _committer.Dispose();
        }
    }

    /// <summary>
    /// Batches of up to this many records are committed on the pool worker that runs the loop; larger ones on the
    /// writer's own thread (<see cref="CommitThread"/>).
    /// </summary>
    private const int SmallBatch = 2;

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        var items = new List<AuditAppend>(_maxBatch);
        var barriers = new List<Pending>();
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            items.Clear();
            barriers.Clear();
            var durable = Drain(reader, batch, items, barriers);
            if (!durable && barriers.Count == 0 && batch.Count > 0 && batch.Count < _maxBatch)
            {
                // Only deferred records: give a durable caller a moment to arrive and share this commit.
                using var wait = new CancellationTokenSource(_deferDelay);
                try
                {
                    if (await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false)) Drain(reader, batch, items, barriers);
                }
                catch (OperationCanceledException) when (wait.IsCancellationRequested)
                {
                }
            }
            if (batch.Count == 0)
            {
                foreach (var b in barriers) b.Completion.TrySetResult(null!);
                continue;
            }

            try
            {
                // Not the callers' tokens: one caller giving up must not abort the others' commit.
                var records = batch.Count <= SmallBatch
                    ? await _store.AppendAsync(items, CancellationToken.None).ConfigureAwait(false)
                    : await _committer.CommitAsync(items).ConfigureAwait(false);
                if (records.Count != batch.Count)
                {
                    throw new InvalidOperationException($"The audit store returned {records.Count} records for a batch of {batch.Count}.");
                }
                for (var i = 0; i < batch.Count; i++) batch[i].Completion.TrySetResult(records[i]);
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Completion.TrySetException(ex);
            }
            foreach (var b in barriers) b.Completion.TrySetResult(null!);
        }
    }

    /// <summary>Moves what is waiting into the batch; true when a caller in it waits for durability.</summary>
    private bool Drain(ChannelReader<Pending> reader, List<Pending> batch, List<AuditAppend> items, List<Pending> barriers)
    {
        var durable = false;
        while (batch.Count < _maxBatch && reader.TryRead(out var p))
        {
            if (p.Item is null)
            {
                barriers.Add(p);
                continue;
            }
            if (p.CancellationToken.IsCancellationRequested)
            {
                p.Completion.TrySetCanceled(p.CancellationToken);
                continue;
            }
            batch.Add(p);
            items.Add(p.Item);
            durable |= !p.Deferred;
        }
        return durable;
    }

    /// <summary>One queued event; <see cref="Item"/> null marks a <see cref="FlushAsync"/> barrier.</summary>
    private sealed record Pending(AuditAppend? Item, TaskCompletionSource<AuditRecord> Completion, CancellationToken CancellationToken, bool Deferred = false);

    /// <summary>
    /// Where a batch of more than <see cref="SmallBatch"/> records is committed: a thread of the writer's own. A SQLite
    /// commit blocks its thread in the fsync for most of the time the writer is busy, and under load that stuck one of
    /// a 2-core box's two pool workers, leaving the box a quarter idle (issuance at 32 connections: 6,588 → 7,544
    /// tokens/s once commits moved here). A small batch, the common case at low load, is committed by the loop's own
    /// pool worker instead: handing it here and back costs two thread wake-ups (the writer's, then a pool worker's for
    /// the callers), which added about 0.09 ms to every `writ mcp-proxy` call at one connection (docs/performance.md).
    /// Two, not one: at one connection a gateway or MCP call's decision shares its commit with the previous call's outcome.
    /// </summary>
    private sealed class CommitThread : IDisposable
    {
        private readonly IAuditAppender _store;
        private readonly SemaphoreSlim _ready = new(0);
        private readonly Thread _thread;
        private IReadOnlyList<AuditAppend>? _items;
        private TaskCompletionSource<IReadOnlyList<AuditRecord>>? _done;
        private volatile bool _stopping;

        public CommitThread(IAuditAppender store)
        {
            _store = store;
            _thread = new Thread(Run) { IsBackground = true, Name = "writ audit writer" };
            _thread.Start();
        }

        /// <summary>Commits <paramref name="items"/> on this thread. One at a time: the writer's loop awaits each before the next.</summary>
        public Task<IReadOnlyList<AuditRecord>> CommitAsync(IReadOnlyList<AuditAppend> items)
        {
            var done = new TaskCompletionSource<IReadOnlyList<AuditRecord>>(TaskCreationOptions.RunContinuationsAsynchronously);
            _items = items;
            _done = done;
            _ready.Release();
            return done.Task;
        }

        private void Run()
        {
            while (true)
            {
                _ready.Wait();
                if (_stopping) return;
                var (items, done) = (_items!, _done!);
                try
                {
                    // Waited for on this thread (a PostgreSQL append's I/O completes on the pool and wakes it).
                    done.TrySetResult(_store.AppendAsync(items, CancellationToken.None).GetAwaiter().GetResult());
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
            }
        }

        public void Dispose()
        {
            _stopping = true;
            _ready.Release();
            _thread.Join();
            _ready.Dispose();
        }
    }
}
