using System.Threading.Channels;
using Writ.Core.Storage;

namespace Writ.Core.Audit;

/// <summary>
/// Group commit for the audit log: every caller waits until its event is durable (fail closed, invariant 7),
/// but concurrent callers share one transaction, hence one fsync. A single loop drains whatever is waiting
/// (up to <c>maxBatch</c>) and appends it in one <see cref="IAuditStore.AppendAsync"/> call; while that commit
/// runs, new callers queue up and form the next batch. Nothing sleeps to wait for a batch to fill: a lone
/// caller is committed at once, and batches grow only as far as concurrency makes them.
/// </summary>
public sealed class AuditWriter : IAsyncDisposable
{
    private readonly IAuditStore _store;
    private readonly int _maxBatch;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public AuditWriter(IAuditStore store, int maxBatch = 512)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _store = store;
        _maxBatch = maxBatch;
        _loop = Task.Run(RunAsync);
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
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        var items = new List<AuditAppend>(_maxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            items.Clear();
            while (batch.Count < _maxBatch && reader.TryRead(out var p))
            {
                if (p.CancellationToken.IsCancellationRequested)
                {
                    p.Completion.TrySetCanceled(p.CancellationToken);
                    continue;
                }
                batch.Add(p);
                items.Add(p.Item);
            }
            if (batch.Count == 0) continue;

            try
            {
                // Not the callers' tokens: one caller giving up must not abort the others' commit.
                var records = await _store.AppendAsync(items, CancellationToken.None).ConfigureAwait(false);
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
        }
    }

    private sealed record Pending(AuditAppend Item, TaskCompletionSource<AuditRecord> Completion, CancellationToken CancellationToken);
}
