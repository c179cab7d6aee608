using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using Writ.Client.Contracts;

namespace Writ.Client.Http;

/// <summary>
/// A human operator's client for the API for humans (policy, inventory, tasks, audit, keys, users, approvals).
/// Authenticates with a bearer token: a login session or the bootstrap admin token. Agent credentials never open these endpoints.
/// </summary>
public sealed class WritAdminClient
{
    private readonly HttpClient _http;

    public WritAdminClient(HttpClient http, Uri server, string adminToken)
    {
        _http = http;
        _http.BaseAddress = server;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    public Task<PolicyVersionInfo> ApplyPolicyAsync(IReadOnlyList<PolicyFile> files, CancellationToken ct = default) =>
        PostAsync<PolicyVersionInfo>("api/policy", new ApplyPolicyRequest(files), ct);

    public Task<PolicyDocumentInfo> GetPolicyAsync(CancellationToken ct = default) => GetAsync<PolicyDocumentInfo>("api/policy", ct);

    public Task<List<PolicyVersionInfo>> GetPolicyHistoryAsync(CancellationToken ct = default) =>
        GetAsync<List<PolicyVersionInfo>>("api/policy/history", ct);

    public Task<List<AgentInfo>> ListAgentsAsync(CancellationToken ct = default) => GetAsync<List<AgentInfo>>("api/agents", ct);

    public Task<AgentDetail> GetAgentAsync(string agentId, CancellationToken ct = default) =>
        GetAsync<AgentDetail>($"api/agents/{Uri.EscapeDataString(agentId)}", ct);

    public Task<AgentInfo> SuspendAgentAsync(string agentId, CancellationToken ct = default) =>
        PostAsync<AgentInfo>($"api/agents/{Uri.EscapeDataString(agentId)}/suspend", null, ct);

    public Task<AgentInfo> ResumeAgentAsync(string agentId, CancellationToken ct = default) =>
        PostAsync<AgentInfo>($"api/agents/{Uri.EscapeDataString(agentId)}/resume", null, ct);

    public Task<EnrollmentCodeInfo> CreateEnrollmentCodeAsync(string agentId, CancellationToken ct = default) =>
        PostAsync<EnrollmentCodeInfo>($"api/agents/{Uri.EscapeDataString(agentId)}/enrollment-codes", null, ct);

    public Task<List<TaskInfo>> ListTasksAsync(string? agentId, string? status, CancellationToken ct = default) =>
        GetAsync<List<TaskInfo>>("api/tasks" + Query(("agent", agentId), ("status", status)), ct);

    public Task<TaskInfo> CompleteTaskAsync(string taskId, CancellationToken ct = default) =>
        PostAsync<TaskInfo>($"api/tasks/{Uri.EscapeDataString(taskId)}/complete", null, ct);

    /// <summary>Unrevoked, unexpired credentials, of one agent or all.</summary>
    public Task<List<CredentialInfo>> ListActiveCredentialsAsync(string? agentId = null, CancellationToken ct = default) =>
        GetAsync<List<CredentialInfo>>("api/credentials" + Query(("agent", agentId)), ct);

    public Task<CredentialInfo> RevokeCredentialAsync(string jti, CancellationToken ct = default) =>
        PostAsync<CredentialInfo>($"api/credentials/{Uri.EscapeDataString(jti)}/revoke", null, ct);

    public Task<List<AuditEntry>> SearchAuditAsync(
        string? actor = null, string? task = null, string? action = null, string? resource = null, string? environment = null,
        string? decision = null, DateTimeOffset? since = null, long? afterSeq = null, int limit = 100, int? last = null, CancellationToken ct = default) =>
        GetAsync<List<AuditEntry>>("api/audit" + Query(
            ("actor", actor), ("task", task), ("action", action), ("resource", resource), ("environment", environment),
            ("decision", decision), ("since", since?.ToString("O")), ("after", afterSeq?.ToString()), ("limit", limit.ToString()), ("last", last?.ToString())), ct);

    public Task<AuditVerifyResult> VerifyAuditAsync(CancellationToken ct = default) => PostAsync<AuditVerifyResult>("api/audit/verify", null, ct);

    /// <summary>Streams the whole log as JSON Lines, one record a line, in chain order.</summary>
    public async IAsyncEnumerable<string> ExportAuditAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        using var response = await _http.GetAsync("api/audit/export", HttpCompletionOption.ResponseHeadersRead, ct);
        await WritJson.EnsureSuccessAsync(response, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length > 0) yield return line;
        }
    }

    public Task<PolicyCheckResult> CheckPolicyAsync(IReadOnlyList<PolicyFile> files, CancellationToken ct = default) =>
        PostAsync<PolicyCheckResult>("api/policy/validate", new ApplyPolicyRequest(files), ct);

    // ---- humans: users, sessions, approvals ----

    /// <summary>Logs in with a password and returns the session (its token is shown once; use it as this client's bearer).</summary>
    public static async Task<LoginResponse> LoginAsync(HttpClient http, Uri server, string user, string password, CancellationToken ct = default)
    {
        using var response = await http.PostAsJsonAsync(new Uri(server, "api/login"), new LoginRequest(user, password), WritJson.Options, ct);
        return await WritJson.ReadAsync<LoginResponse>(response, ct);
    }

    public async Task LogoutAsync(CancellationToken ct = default)
    {
        using var response = await _http.PostAsync("api/logout", null, ct);
        await WritJson.EnsureSuccessAsync(response, ct);
    }

    public Task<WhoAmI> WhoAmIAsync(CancellationToken ct = default) => GetAsync<WhoAmI>("api/whoami", ct);

    public Task<UserInfo> AddUserAsync(string name, IReadOnlyList<string> roles, string password, CancellationToken ct = default) =>
        PostAsync<UserInfo>("api/users", new AddUserRequest(name, roles, password), ct);

    public Task<List<UserInfo>> ListUsersAsync(CancellationToken ct = default) => GetAsync<List<UserInfo>>("api/users", ct);

    public Task<UserInfo> DisableUserAsync(string name, CancellationToken ct = default) =>
        PostAsync<UserInfo>($"api/users/{Uri.EscapeDataString(name)}/disable", null, ct);

    public Task<List<ApprovalInfo>> ListApprovalsAsync(string? status = null, CancellationToken ct = default) =>
        GetAsync<List<ApprovalInfo>>("api/approvals" + Query(("status", status)), ct);

    public Task<ApprovalInfo> GetApprovalAsync(string id, CancellationToken ct = default) =>
        GetAsync<ApprovalInfo>($"api/approvals/{Uri.EscapeDataString(id)}", ct);

    /// <summary>
    /// The decider's password, sent again with each approve/deny (re-authentication): the server will not let a session
    /// token alone decide. Set it for the life of one command; it is never stored.
    /// </summary>
    public string? StepUpPassword { get; set; }

    /// <summary><paramref name="window"/> (elevations only) is a duration like <c>10m</c>.</summary>
    public Task<ApprovalInfo> ApproveAsync(string id, string reason, string? window = null, CancellationToken ct = default) =>
        PostAsync<ApprovalInfo>($"api/approvals/{Uri.EscapeDataString(id)}/approve", new DecideApprovalRequest(reason, window, StepUpPassword), ct);

    public Task<ApprovalInfo> DenyAsync(string id, string reason, CancellationToken ct = default) =>
        PostAsync<ApprovalInfo>($"api/approvals/{Uri.EscapeDataString(id)}/deny", new DecideApprovalRequest(reason, null, StepUpPassword), ct);

    public Task<List<WebhookDeliveryInfo>> ListWebhookDeliveriesAsync(int limit = 100, CancellationToken ct = default) =>
        GetAsync<List<WebhookDeliveryInfo>>("api/webhooks/deliveries" + Query(("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture))), ct);

    public Task<List<SigningKeyInfo>> RotateSigningKeyAsync(CancellationToken ct = default) => PostAsync<List<SigningKeyInfo>>("api/keys/rotate", null, ct);

    public Task<List<SigningKeyInfo>> ListSigningKeysAsync(CancellationToken ct = default) => GetAsync<List<SigningKeyInfo>>("api/keys", ct);

    /// <summary>Stores a new secret (version 1). The value goes in the body, once; it is never returned.</summary>
    public async Task<SecretInfo> PutSecretAsync(string name, string value, CancellationToken ct = default)
    {
        using var content = JsonContent.Create(new PutSecretRequest(value), options: WritJson.Options);
        using var response = await _http.PutAsync($"api/secrets/{Uri.EscapeDataString(name)}", content, ct);
        return await WritJson.ReadAsync<SecretInfo>(response, ct);
    }

    /// <summary>Adds a new version of an existing secret; older versions are kept.</summary>
    public Task<SecretInfo> RotateSecretAsync(string name, string value, CancellationToken ct = default) =>
        PostAsync<SecretInfo>($"api/secrets/{Uri.EscapeDataString(name)}/rotate", new PutSecretRequest(value), ct);

    public Task<List<SecretInfo>> ListSecretsAsync(CancellationToken ct = default) => GetAsync<List<SecretInfo>>("api/secrets", ct);

    public Task<SecretInfo> GetSecretAsync(string name, CancellationToken ct = default) =>
        GetAsync<SecretInfo>($"api/secrets/{Uri.EscapeDataString(name)}", ct);

    /// <summary>Mints a token for standalone gateway <paramref name="name"/>, serving <paramref name="environment"/> only if given; shown once.</summary>
    public Task<GatewayTokenInfo> CreateGatewayTokenAsync(string name, string? environment = null, CancellationToken ct = default) =>
        PostAsync<GatewayTokenInfo>("api/gateway-tokens", new GatewayTokenRequest(name, environment), ct);

    /// <summary>Revokes every token of gateway <paramref name="name"/>; it is refused on its next request to the server.</summary>
    public async Task<GatewayRevocationInfo> RevokeGatewayTokensAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.DeleteAsync($"api/gateway-tokens/{Uri.EscapeDataString(name)}", ct);
        return await WritJson.ReadAsync<GatewayRevocationInfo>(response, ct);
    }

    public Task<List<GatewayFollowerInfo>> ListGatewaysAsync(CancellationToken ct = default) => GetAsync<List<GatewayFollowerInfo>>("api/gateway-tokens", ct);

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        return await WritJson.ReadAsync<T>(response, ct);
    }

    private async Task<T> PostAsync<T>(string path, object? body, CancellationToken ct)
    {
        using var content = body is null ? null : JsonContent.Create(body, body.GetType(), options: WritJson.Options);
        using var response = await _http.PostAsync(path, content, ct);
        return await WritJson.ReadAsync<T>(response, ct);
    }

    private static string Query(params (string Name, string? Value)[] pairs)
    {
        var parts = pairs.Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToArray();
        return parts.Length == 0 ? "" : "?" + string.Join('&', parts);
    }
}
