using System.Net.Http.Headers;
using System.Net.Http.Json;
using Writ.Client.Http;
using Writ.Core.Audit;
using Writ.Server.GatewayApi;

namespace Writ.Server.GatewayHost;

/// <summary>
/// A standalone gateway's one connection to the Writ server: the gateway API (<c>/api/gateway/…</c>) with the gateway's
/// token. Upstream secrets travel on it, so it must be HTTPS unless the server is on this machine (loopback).
/// </summary>
internal sealed class ServerLink : IDisposable
{
    private readonly HttpClient _http;

    public ServerLink(Uri server, string token, HttpMessageHandler? handler = null)
    {
        if (server.Scheme != Uri.UriSchemeHttps && !(server.Scheme == Uri.UriSchemeHttp && server.IsLoopback))
            throw new GatewayStartupException($"the server URL {server.GetLeftPart(UriPartial.Authority)} must be https (upstream secrets travel on this link); plain http only to a loopback address");
        if (!token.StartsWith(GatewayApiEndpoints.TokenPrefix, StringComparison.Ordinal))
            throw new GatewayStartupException($"a gateway token starts with {GatewayApiEndpoints.TokenPrefix} (an admin makes one with `writ gateway-token create NAME`)");
        Server = new Uri(server.AbsoluteUri.TrimEnd('/') + "/");
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), UseProxy = false, UseCookies = false })
        {
            BaseAddress = Server,
            // Longer than the longest long poll (55 s); every other call answers in milliseconds.
            Timeout = TimeSpan.FromSeconds(70),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri Server { get; }

    /// <summary>Names this gateway process to the server, so that replicas sharing one token are each waited for.</summary>
    public string Instance { get; } = Core.Common.Ids.Random(12);

    public async Task<GatewayState> GetStateAsync(GatewayState? applied, TimeSpan wait, CancellationToken ct)
    {
        var query = applied is { } a ? $"?after={a.Version}&epoch={Uri.EscapeDataString(a.Epoch)}&instance={Instance}&wait={(int)wait.TotalSeconds}" : "";
        using var response = await _http.GetAsync("api/gateway/state" + query, ct);
        return await WritJson.ReadAsync<GatewayState>(response, ct);
    }

    public async Task<GatewayPolicy> GetPolicyAsync(CancellationToken ct)
    {
        using var response = await _http.GetAsync("api/gateway/policy", ct);
        return await WritJson.ReadAsync<GatewayPolicy>(response, ct);
    }

    public Task<LivenessAnswer> GetLivenessAsync(LivenessRequest request, CancellationToken ct) => DuringCallAsync(async t =>
    {
        using var response = await _http.PostAsJsonAsync("api/gateway/liveness", request, WritJson.Options, t);
        return await WritJson.ReadAsync<LivenessAnswer>(response, t);
    }, ct);

    /// <summary>The newest version of a secret, or null when the server has none by that name.</summary>
    public Task<GatewaySecret?> GetSecretAsync(string name, CancellationToken ct) => DuringCallAsync(async t =>
    {
        using var response = await _http.PostAsync("api/gateway/secrets/" + Uri.EscapeDataString(name), null, t);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        return await WritJson.ReadAsync<GatewaySecret>(response, t);
    }, ct);

    public async Task<AuditBatchAnswer> AppendAuditAsync(AuditBatch batch, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        using var response = await _http.PostAsJsonAsync("api/gateway/audit", batch, WritJson.Options, timeout.Token);
        return await WritJson.ReadAsync<AuditBatchAnswer>(response, timeout.Token);
    }

    /// <summary>How long an agent's call waits for the server before it is refused (a partition must not hang calls for a minute).</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>What the gateway asks while an agent's call waits: any failure becomes <see cref="ServerUnavailableException"/> (503, fail closed).</summary>
    private static async Task<T> DuringCallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        try
        {
            return await call(timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or WritApiException or System.Text.Json.JsonException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new ServerUnavailableException(e);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A standalone gateway could not ask the server what a call depends on; the call is refused (503).</summary>
internal sealed class ServerUnavailableException(Exception inner) : Exception("the Writ server could not be reached", inner);

/// <summary>The gateway cannot start; the message says what to fix.</summary>
public sealed class GatewayStartupException(string message) : Exception(message);
