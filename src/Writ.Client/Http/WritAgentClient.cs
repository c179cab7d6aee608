using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Writ.Client.Contracts;
using Writ.Client.Keys;

namespace Writ.Client.Http;

/// <summary>A credential as the agent holds it: the DPoP-bound access token and when it stops working.</summary>
public sealed record Credential(string AccessToken, string Scope, string TaskId, string Environment, string? Target, DateTimeOffset ExpiresAt);

/// <summary>
/// The agent's side of Writ: enroll a key, open and complete tasks, get task-scoped DPoP-bound
/// credentials (cached until shortly before they expire), and sign DPoP proofs for tool calls.
/// The private key never leaves this process; every request carries a fresh proof signed by it.
/// </summary>
public sealed class WritAgentClient
{
    /// <summary>A cached credential is refreshed this long before it expires, so a call never leaves with a token about to die.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly AgentKeyPair _key;
    private readonly DpopProofFactory _proofs;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, Credential> _cache = new(StringComparer.Ordinal);

    public WritAgentClient(HttpClient http, Uri server, string agentId, AgentKeyPair key, TimeProvider? clock = null)
    {
        _http = http;
        _server = server;
        AgentId = agentId;
        _key = key;
        _clock = clock ?? TimeProvider.System;
        _proofs = new DpopProofFactory(key, _clock);
    }

    public string AgentId { get; }

    /// <summary>The Writ server this agent talks to (the gateway is under it, at <c>gw/</c>).</summary>
    public Uri Server => _server;

    /// <summary>Registers <paramref name="key"/>'s public half with a one-time enrollment code, proving possession with a DPoP proof.</summary>
    public static async Task<EnrollResponse> EnrollAsync(HttpClient http, Uri server, string code, AgentKeyPair key, CancellationToken ct = default)
    {
        var uri = new Uri(server, "api/enroll");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = JsonContent.Create(new EnrollRequest(code, key.PublicJwk), options: WritJson.Options),
        };
        request.Headers.Add("DPoP", new DpopProofFactory(key).Create("POST", uri));
        using var response = await http.SendAsync(request, ct);
        return await WritJson.ReadAsync<EnrollResponse>(response, ct);
    }

    public async Task<TaskInfo> StartTaskAsync(string purpose, string? ticket = null, string? onBehalfOf = null, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        var body = new StartTaskRequest(purpose, ticket, onBehalfOf, ttl is null ? null : (int)ttl.Value.TotalSeconds);
        using var response = await SendSignedAsync(HttpMethod.Post, "api/agent/tasks", JsonContent.Create(body, options: WritJson.Options), ct);
        return await WritJson.ReadAsync<TaskInfo>(response, ct);
    }

    /// <summary>Completes the task: every credential issued under it is revoked at once.</summary>
    public async Task<TaskInfo> CompleteTaskAsync(string taskId, CancellationToken ct = default)
    {
        using var response = await SendSignedAsync(HttpMethod.Post, $"api/agent/tasks/{Uri.EscapeDataString(taskId)}/complete", null, ct);
        foreach (var (k, c) in _cache)
        {
            if (c.TaskId == taskId) _cache.TryRemove(k, out _);
        }
        return await WritJson.ReadAsync<TaskInfo>(response, ct);
    }

    /// <summary>
    /// A credential for <paramref name="scope"/> (e.g. <c>crm:read</c>) under <paramref name="taskId"/>,
    /// from the cache while it has more than <see cref="RefreshMargin"/> left, else from <c>/oauth/token</c>.
    /// Refusals throw <see cref="WritApiException"/> with the policy's reason code; a request that needs a human
    /// throws with <see cref="WritApiException.ApprovalId"/> set (see <see cref="GetApprovedCredentialAsync"/>).
    /// </summary>
    public async Task<Credential> GetCredentialAsync(
        string scope, string taskId, string? target = null, TimeSpan? ttl = null, string? environment = null, CancellationToken ct = default,
        string? justification = null, string? approvalId = null)
    {
        var cacheKey = string.Join('\n', scope, taskId, target, ttl?.TotalSeconds, environment);
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.ExpiresAt - _clock.GetUtcNow() > RefreshMargin) return cached;

        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "client_credentials"),
            new("client_id", AgentId),
            new("scope", scope),
            new("task_id", taskId),
        };
        if (target is not null) form.Add(new("target", target));
        if (ttl is not null) form.Add(new("ttl", ((int)ttl.Value.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (environment is not null) form.Add(new("environment", environment));
        if (justification is not null) form.Add(new("justification", justification));
        if (approvalId is not null) form.Add(new("approval_id", approvalId));

        var uri = new Uri(_server, "oauth/token");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("DPoP", _proofs.Create("POST", uri));
        var sentAt = _clock.GetUtcNow();
        using var response = await _http.SendAsync(request, ct);
        var token = await WritJson.ReadAsync<TokenResponse>(response, ct);
        var credential = new Credential(token.AccessToken, token.Scope, token.TaskId, token.Environment, token.Target, sentAt.AddSeconds(token.ExpiresIn));
        _cache[cacheKey] = credential;
        return credential;
    }

    /// <summary>
    /// A credential that may need a human: asks with <paramref name="justification"/>; if the policy wants an approval
    /// or an elevation, reports the approval id through <paramref name="onPending"/> and polls (OpenID CIBA style, at the
    /// server's interval) until a human approves (the credential is returned), denies, or the request expires
    /// (<see cref="WritApiException"/> with <c>approval.denied</c>, <c>approval.expired</c>), or <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task<Credential> GetApprovedCredentialAsync(
        string scope, string taskId, string justification, string? target = null, TimeSpan? ttl = null, string? environment = null,
        Action<string>? onPending = null, CancellationToken ct = default)
    {
        string approvalId;
        int interval;
        try
        {
            return await GetCredentialAsync(scope, taskId, target, ttl, environment, ct, justification);
        }
        catch (WritApiException e) when (e.OAuthError is "approval_required" or "elevation_required" && e.ApprovalId is not null)
        {
            approvalId = e.ApprovalId;
            interval = e.Interval ?? 5;
            onPending?.Invoke(approvalId);
        }
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Clamp(interval, 1, 60)), _clock, ct);
            try
            {
                return await GetCredentialAsync(scope, taskId, target, ttl, environment, ct, approvalId: approvalId);
            }
            catch (WritApiException e) when (e.OAuthError == "authorization_pending")
            {
                interval = e.Interval ?? interval;
            }
        }
    }

    /// <summary>Sends an agent-authenticated request: no bearer secret, only a DPoP proof signed by the enrolled key.</summary>
    private async Task<HttpResponseMessage> SendSignedAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        var uri = new Uri(_server, path);
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.Add("DPoP", _proofs.Create(method.Method, uri));
        return await _http.SendAsync(request, ct);
    }

    /// <summary>Sets the RFC 9449 §7.1 headers on a request to a protected resource.</summary>
    public void Authorize(HttpRequestMessage request, Credential credential) =>
        Authorize(request, credential, CreateProof(request.Method, request.RequestUri!, credential.AccessToken));

    /// <summary>Sets the headers with a proof made earlier by <see cref="CreateProof"/> for this method, URL and token; used once.</summary>
    internal static void Authorize(HttpRequestMessage request, Credential credential, string proof)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("DPoP", credential.AccessToken);
        request.Headers.Remove("DPoP");
        request.Headers.Add("DPoP", proof);
    }

    /// <summary>A fresh single-use proof for a request to a protected resource (RFC 9449 §7.1: with <c>ath</c>).</summary>
    internal string CreateProof(HttpMethod method, Uri uri, string accessToken) => _proofs.Create(method.Method, uri, accessToken);

    internal TimeProvider Clock => _clock;
}
