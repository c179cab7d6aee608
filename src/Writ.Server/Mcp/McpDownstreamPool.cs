using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using Writ.Core.Policy;
using Writ.Server.Secrets;

namespace Writ.Server.Mcp;

/// <summary>A connected downstream and the forms of every secret injected into it, which are scrubbed from what it returns.</summary>
internal sealed record McpDownstreamLease(McpDownstreamClient Client, IReadOnlyList<string> Scrub);

/// <summary>
/// One downstream connection per resource×environment, opened on first use and reopened when it dies or when a new
/// policy changes its settings. Secrets named in <c>env</c>/<c>headers</c> are opened from the vault only at launch and
/// handed to the process or transport; they are kept in memory as scrub patterns so a downstream that echoes them
/// (an error message, a debug tool) never shows them to the agent (invariant 4).
/// </summary>
internal sealed partial class McpDownstreamPool(SecretVault vault, McpOptions options, ILogger<McpDownstreamPool> logger) : IAsyncDisposable
{
    /// <summary>Variables a launched server inherits from the Writ process; nothing else (no tokens, no master key path).</summary>
    private static readonly string[] Inherited = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT", "NODE_OPTIONS"];

    private readonly Dictionary<string, (McpServerTarget Target, McpDownstreamLease Lease)> _live = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task<McpDownstreamLease> GetAsync(string resource, string environment, McpServerTarget target, CancellationToken ct)
    {
        var key = resource + "\n" + environment;
        lock (_live)
        {
            if (_live.TryGetValue(key, out var hit) && ReferenceEquals(hit.Target, target) && hit.Lease.Client.IsAlive) return hit.Lease;
        }
        await _gate.WaitAsync(ct);
        try
        {
            McpDownstreamLease? stale = null;
            lock (_live)
            {
                if (_live.TryGetValue(key, out var hit))
                {
                    if (ReferenceEquals(hit.Target, target) && hit.Lease.Client.IsAlive) return hit.Lease;
                    stale = hit.Lease;
                    _live.Remove(key);
                }
            }
            if (stale is not null) await stale.Client.DisposeAsync();
            McpDownstreamLease lease;
            try
            {
                lease = await ConnectAsync(resource, target, ct);
            }
            catch (McpDownstreamUnavailableException e)
            {
                // For the operator: which server, and the kind of failure. Never the message chain or the process's
                // output, which could carry an injected secret.
                DownstreamFailed(logger, resource, environment, e.InnerException?.GetType().Name ?? e.Message);
                throw;
            }
            Launched(logger, resource, environment);
            lock (_live) _live[key] = (target, lease);
            return lease;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<McpDownstreamLease> ConnectAsync(string resource, McpServerTarget target, CancellationToken ct)
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        var templates = target.Downstream switch
        {
            McpStdioDownstream s => s.Environment.Values,
            McpHttpDownstream h => h.Headers.Values,
            _ => [],
        };
        foreach (var name in templates.SelectMany(t => t.Secrets).Distinct(StringComparer.Ordinal))
        {
            var bytes = await vault.OpenLatestAsync(name, ct)
                ?? throw new McpDownstreamUnavailableException($"the secret {name} that {resource} needs is not stored (writ secret put {name})");
            secrets[name] = Encoding.UTF8.GetString(bytes);
            CryptographicOperations.ZeroMemory(bytes);
        }
        string Lookup(string name) => secrets[name];

        Func<CancellationToken, Task<IMcpWire>> open;
        var rendered = new List<string>();
        switch (target.Downstream)
        {
            case McpStdioDownstream s:
            {
                var env = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var name in Inherited)
                {
                    if (Environment.GetEnvironmentVariable(name) is { } v) env[name] = v;
                }
                foreach (var (name, template) in s.Environment)
                {
                    env[name] = template.Render(Lookup);
                    if (template.Secrets.Count > 0) rendered.Add(env[name]);
                }
                var launch = new McpStdioLaunch(s.Command, s.Args, s.WorkingDirectory);
                open = _ => Task.FromResult<IMcpWire>(new McpStdioWire(resource, launch, env, target.Timeout));
                break;
            }
            case McpHttpDownstream h:
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var (name, template) in h.Headers)
                {
                    headers[name] = template.Render(Lookup);
                    if (template.Secrets.Count > 0) rendered.Add(headers[name]);
                }
                var transport = new HttpClientTransport(new HttpClientTransportOptions
                {
                    Name = resource,
                    Endpoint = h.Url,
                    AdditionalHeaders = headers,
                    TransportMode = HttpTransportMode.StreamableHttp,
                    ConnectionTimeout = options.ConnectTimeout,
                });
                open = async c => new McpTransportWire(await transport.ConnectAsync(c));
                break;
            }
            default:
                throw new McpDownstreamUnavailableException($"{resource} has no downstream");
        }

        var client = await McpDownstreamClient.ConnectAsync(open, options.ConnectTimeout, ct);
        return new McpDownstreamLease(client, ScrubForms(secrets.Values.Concat(rendered)));
    }

    /// <summary>Each secret as it may appear in a JSON result: raw and JSON-escaped, longest first so a longer form wins.</summary>
    internal static IReadOnlyList<string> ScrubForms(IEnumerable<string> values) =>
        values.Where(v => v.Length >= 4)
            .SelectMany(v => new[] { v, JsonSerializer.Serialize(v)[1..^1], Uri.EscapeDataString(v) })
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)
            .ToArray();

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "MCP downstream of {Resource} in {Environment} connected")]
    private static partial void Launched(ILogger logger, string resource, string environment);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "MCP downstream of {Resource} in {Environment} could not start: {Reason}")]
    private static partial void DownstreamFailed(ILogger logger, string resource, string environment, string reason);

    public async ValueTask DisposeAsync()
    {
        List<McpDownstreamLease> all;
        lock (_live)
        {
            all = _live.Values.Select(v => v.Lease).ToList();
            _live.Clear();
        }
        foreach (var lease in all) await lease.Client.DisposeAsync();
    }
}

/// <summary>Limits of the MCP gateway; the per-call timeout itself is per resource in policy (<c>timeout</c>).</summary>
internal sealed class McpOptions
{
    /// <summary>How long launching (or connecting to) and initializing a downstream may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest JSON-RPC message an agent may post.</summary>
    public int MaxRequestBytes { get; init; } = 1024 * 1024;

    /// <summary>Agent sessions kept at most; the oldest go first (a session is only a protocol-version memo, never authority).</summary>
    public int MaxSessions { get; init; } = 10_000;
}
