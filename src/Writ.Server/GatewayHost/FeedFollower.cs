using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Writ.Client.Http;
using Writ.Core.Crypto;
using Writ.Core.Policy;
using Writ.Server.Auth;
using Writ.Server.GatewayApi;
using Writ.Server.Hosting;
using Writ.Server.PolicyApi;

namespace Writ.Server.GatewayHost;

/// <summary>The server's token-signing public keys as the gateway last received them, by key id.</summary>
internal sealed class GatewayKeys
{
    private volatile IReadOnlyDictionary<string, ECDsa> _byKid = new Dictionary<string, ECDsa>();
    private string _jwks = "";

    public ECDsa? PublicKey(string kid) => _byKid.GetValueOrDefault(kid);

    /// <summary>Replaces the key set with the server's JWKS; a key the server dropped stops verifying at once.</summary>
    public void Apply(string jwks)
    {
        if (jwks == _jwks) return;
        using var doc = JsonDocument.Parse(jwks);
        var keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var key in doc.RootElement.GetProperty("keys").EnumerateArray())
            keys[key.GetProperty("kid").GetString()!] = EcJwk.ImportPublic(key.GetRawText());
        _byKid = keys;
        _jwks = jwks;
    }
}

/// <summary>
/// Keeps a standalone gateway in step with the server: long-polls the state feed, and on every new version loads the
/// policy (if its version changed), the signing keys and the secrets' versions, and drops every remembered token
/// liveness. The next poll names the version applied, which tells the server this gateway is up to date.
/// <para>
/// Fails closed: while the server cannot be reached, nothing is remembered between calls (every call asks the server,
/// and fails with 503 if it cannot), so a revocation made meanwhile is never missed; a poll unanswered for 12 s counts
/// as lost.
/// </para>
/// </summary>
internal sealed class FeedFollower(ServerLink link, StatusView view, PolicyHolder policy, GatewayKeys keys, RemoteSecrets secrets, ILogger<FeedFollower> logger)
    : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A poll not answered within <see cref="Poll"/> plus this counts as losing the server: a link cut without an error
    /// (a silent partition) stops the gateway trusting its caches after at most 12 s.
    /// </summary>
    private static readonly TimeSpan Lease = Poll + TimeSpan.FromSeconds(2);
    private long? _applied;

    /// <summary>The issuer the server names (tokens' <c>iss</c>), known after the first <see cref="SyncAsync"/>.</summary>
    public string Issuer { get; private set; } = "";

    /// <summary>Reads and applies the current state once; the gateway does not serve before this has succeeded.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        await ApplyAsync(await link.GetStateAsync(null, Poll, ct), ct);
        FeedFollowerMessages.Following(logger, link.Server.GetLeftPart(UriPartial.Authority), policy.Current?.Version ?? 0);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var lease = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                lease.CancelAfter(Lease);
                await ApplyAsync(await link.GetStateAsync(_applied, Poll, lease.Token), lease.Token);
                if (failures > 0) FeedFollowerMessages.Reconnected(logger, link.Server.GetLeftPart(UriPartial.Authority));
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or WritApiException or JsonException or OperationCanceledException or InvalidOperationException)
            {
                // Lost the server (or it refused this gateway): stop trusting anything remembered, then try again.
                view.Enabled = false;
                if (failures++ == 0) FeedFollowerMessages.Lost(logger, link.Server.GetLeftPart(UriPartial.Authority), e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * failures)), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task ApplyAsync(GatewayState state, CancellationToken ct)
    {
        Issuer = state.Issuer;
        if (state.PolicyVersion is { } version && policy.Current?.Version != version)
        {
            var fetched = await link.GetPolicyAsync(ct);
            var sources = PolicyService.Split(fetched.Source);
            var loaded = PolicyLoader.Load(sources);
            if (!loaded.IsValid) throw new InvalidOperationException($"policy version {fetched.Version} from the server does not load here: {loaded.Diagnostics.FirstOrDefault()}");
            policy.Set(CompiledPolicy.Compile(loaded.Policy!, fetched.Version, fetched.Sha256));
        }
        keys.Apply(state.Jwks);
        secrets.Apply(state.Secrets);
        view.Enabled = state.Cacheable; // also drops every remembered liveness
        _applied = state.Version;
    }
}

internal static partial class FeedFollowerMessages
{
    [LoggerMessage(EventId = 1080, Level = LogLevel.Error, Message = "Lost the Writ server at {Server} ({Reason}); every call now asks the server, and fails while it cannot be reached")]
    public static partial void Lost(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 1082, Level = LogLevel.Information, Message = "Following the Writ server at {Server} (policy version {PolicyVersion})")]
    public static partial void Following(ILogger logger, string server, int policyVersion);

    [LoggerMessage(EventId = 1081, Level = LogLevel.Information, Message = "Following the Writ server at {Server} again")]
    public static partial void Reconnected(ILogger logger, string server);
}
