using System.Security.Cryptography;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Storage;
using Writ.Core.Crypto;
using Writ.Core.Tokens;
using Writ.Server.Keys;
using Writ.Server.Tasks;

namespace Writ.Server.AuditApi;

/// <summary>
/// Signs the chain head periodically with the server's ES256 key. Someone with write access to the
/// database can recompute every hash after an edit; they cannot forge these signatures, so
/// <c>writ audit verify</c> still sees the rewrite.
/// </summary>
internal sealed class AuditCheckpointer(IWritStore store, SigningKeyRing keys, TimeProvider clock, ILogger<AuditCheckpointer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private long _lastSigned = -1;

    /// <summary>Signs the current head if it moved since the last checkpoint. Returns the checkpoint, if any.</summary>
    public async Task<AuditCheckpoint?> CheckpointAsync(CancellationToken ct)
    {
        var head = await store.Audit.GetHeadAsync(ct);
        if (head is null || head.Seq == _lastSigned) return null;
        var key = keys.Active;
        var signature = Base64Url.Encode(key.Sign(AuditChain.CheckpointPayload(head.Seq, head.Hash)));
        var checkpoint = new AuditCheckpoint(head.Seq, head.Hash, clock.GetUtcNow(), key.KeyId, signature);
        await store.Audit.AddCheckpointAsync(checkpoint, ct);
        _lastSigned = head.Seq;
        return checkpoint;
    }

    /// <summary>Checks a checkpoint's signature against every key this server ever had (retired keys included).</summary>
    public bool IsValid(AuditCheckpoint checkpoint)
    {
        var record = keys.Records.FirstOrDefault(r => r.KeyId == checkpoint.KeyId);
        if (record is null || !Base64Url.TryDecode(checkpoint.Signature, out var signature)) return false;
        using var key = EcJwk.ImportPublic(record.PublicJwk);
        return key.VerifyData(AuditChain.CheckpointPayload(checkpoint.Seq, checkpoint.Hash), signature,
            HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckpointAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.CheckpointFailed(logger, e);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await CheckpointAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.CheckpointFailed(logger, e);
        }
    }
}
