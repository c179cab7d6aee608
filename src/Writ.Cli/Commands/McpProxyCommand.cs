using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Policy;

namespace Writ.Cli.Commands;

/// <summary>
/// <c>writ mcp-proxy RESOURCE [--scope RESOURCE:ACTION …]</c>: an MCP server over stdio for local MCP clients (editor
/// and agent config files). It opens a task for the session, relays each JSON-RPC line to the Writ server's
/// <c>/mcp/RESOURCE</c> with a fresh DPoP proof and the task's credential (refreshed before it expires), writes the
/// answers (and streamed progress) back as lines, and completes the task — revoking every credential issued under it —
/// when the client closes stdin or on SIGINT/SIGTERM. The client never sees a token; stdout carries only MCP messages.
/// A scope that needs a human (write: approval, delete: elevation) is asked for with <c>--justification</c> before anything
/// is served; see <see cref="SessionCredential"/> for how long the approval then lasts.
/// </summary>
internal static class McpProxyCommand
{
    public static Command Create()
    {
        var resource = new Argument<string>("resource") { Description = "the MCP resource in policy, e.g. files" };
        var scopes = new Option<string[]>("--scope") { Description = "resource:action, repeatable (default RESOURCE:read)" };
        var purpose = new Option<string>("--task") { Description = "what the session is for (default: mcp-proxy RESOURCE)" };
        var onBehalfOf = new Option<string>("--on-behalf-of") { Description = "the human this session acts for" };
        var target = new Option<string>("--target") { Description = "what the credential may touch, e.g. customers/12345" };
        var agent = new Option<string>("--agent") { Description = "enrolled agent id (default: WRIT_AGENT, or the only agent enrolled here)" };
        var ttl = new Option<string>("--ttl") { Description = "how long the session's task may last, e.g. 8h (default 1h, at most 8h)" };
        var justification = new Option<string>("--justification")
        {
            Description = "why: when the scope needs a human (write, delete), ask for it with this reason and wait for the decision before serving",
        };
        var command = new Command("mcp-proxy", "serve an MCP resource over stdio to a local MCP client, through the Writ MCP gateway; the task closes when the client disconnects")
        {
            resource, scopes, purpose, onBehalfOf, target, agent, ttl, justification,
        };
        command.SetAction(async (parse, ct) =>
        {
            // Each answer is a few hundred bytes relayed from the Writ server's socket to stdout: run that on the socket
            // event thread instead of waking a thread-pool thread for it (a documented runtime knob, read when the first
            // socket is made, which is below). Blocking there is only a client not reading stdout, which stalls it anyway.
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
            var name = parse.GetValue(resource)!;
            if (!Writ.Core.Agents.AgentId.IsValidName(name)) throw new CliException($"'{name}' is not a resource name");
            var scope = ScopeFor(name, parse.GetValue(scopes));
            var client = AgentIdentity.Connect(parse.GetValue(agent));
            var task = await client.StartTaskAsync(parse.GetValue(purpose) ?? "mcp-proxy " + name, onBehalfOf: parse.GetValue(onBehalfOf), ttl: AgentSideCommands.ParseTtl(parse.GetValue(ttl)), ct: ct);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            // stdin is read from the start, so a client that goes away while a human is being asked ends the wait.
            var input = new InputLines(stop.Token);
            try
            {
                // Fail before serving anything if policy refuses the scope; wait here if it needs a human.
                var credential = await SessionCredential.OpenAsync(client, scope, task, parse.GetValue(target), parse.GetValue(justification), input.Closed, stop.Token);
                if (credential is null) return 1;
                var endpoint = new Uri(client.Server, "mcp/" + name);
                // Every message is a POST to this one URL: its next DPoP proof is signed ahead, while the server works.
                // A Writ server on this machine is reached without a proxy look-up (the default proxy bypasses loopback anyway).
                var sockets = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = !endpoint.IsLoopback };
                var handler = new DpopCredentialHandler(client, credential.GetAsync, sockets) { SignAhead = (HttpMethod.Post, endpoint) };
                using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(15) };
                await new Relay(http, endpoint, input).RunAsync(stop.Token);
                return 0;
            }
            finally
            {
                try
                {
                    await client.CompleteTaskAsync(task.Id, CancellationToken.None);
                }
                catch (Exception e) when (e is HttpRequestException or WritApiException)
                {
                    Console.Error.WriteLine($"writ: could not complete task {task.Id} ({e.GetType().Name}); its credentials expire on their own");
                }
            }
        });
        return command;
    }

    private static string ScopeFor(string resource, string[]? scopes)
    {
        if (scopes is null || scopes.Length == 0) return resource + ":read";
        var values = new List<string>();
        foreach (var s in scopes)
        {
            var parsed = Scopes.Parse(s);
            if (!parsed.IsSuccess) throw new CliException(parsed.Error!.Message);
            foreach (var (r, action) in parsed.Value)
            {
                if (r != resource) throw new CliException($"--scope {s} is for {r}; this proxy serves {resource} only");
                values.Add(r + ":" + action);
            }
        }
        return string.Join(' ', values.Distinct());
    }

    /// <summary>
    /// The credential the session runs on. A scope the policy allows is refreshed before it expires, as for any agent. A
    /// scope that needs a human is asked for once, with the justification and a TTL of the task's remaining life (capped
    /// by the role's <c>max_ttl</c> and the rule's <c>max_grant</c>, or an elevation's window): an approval grants its
    /// request once and is bound to it exactly, so refreshing would page the approvers again. The approved credential's
    /// expiry is therefore the session's limit for that scope; after it every request gets a JSON-RPC error
    /// <c>mcp.approval_ended</c> that says to start a new session, and nothing more is sent.
    /// </summary>
    private sealed class SessionCredential
    {
        /// <summary>Stop using an approved credential this long before it expires, so no call leaves with a dying token.</summary>
        private static readonly TimeSpan EndMargin = TimeSpan.FromSeconds(5);

        private readonly Func<CancellationToken, Task<Credential>> _refresh;
        private readonly Credential? _approved;
        private readonly string? _approvalId;
        private int _endedNoticed;

        private SessionCredential(Func<CancellationToken, Task<Credential>> refresh, Credential? approved, string? approvalId)
        {
            _refresh = refresh;
            _approved = approved;
            _approvalId = approvalId;
        }

        public static async Task<SessionCredential?> OpenAsync(
            WritAgentClient client, string scope, TaskInfo task, string? target, string? justification, Task inputClosed, CancellationToken ct)
        {
            if (justification is null)
            {
                try
                {
                    await client.GetCredentialAsync(scope, task.Id, target, ct: ct);
                }
                catch (WritApiException e) when (e.Code is "approval.justification_required" || e.OAuthError is "approval_required" or "elevation_required")
                {
                    throw new CliException($"{scope} needs a human's approval, and a human needs a reason: add --justification \"why\" and mcp-proxy asks for it and waits for the decision before serving");
                }
                return new SessionCredential(c => client.GetCredentialAsync(scope, task.Id, target, ct: c), null, null);
            }

            var remaining = task.ExpiresAt - TimeProvider.System.GetUtcNow();
            var ttl = TimeSpan.FromSeconds(Math.Max(60, Math.Floor(remaining.TotalSeconds)));
            string? approvalId = null;
            var pending = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var asking = client.GetApprovedCredentialAsync(scope, task.Id, justification, target, ttl, null, id =>
            {
                approvalId = id;
                Console.Error.WriteLine($"writ: {scope} needs a human's approval: asked as {id} with your justification. An approver runs `writ approvals show {id}`, then `writ approvals approve {id} --reason \"…\"`.");
                Console.Error.WriteLine("writ: waiting for the decision; nothing is served until then (Ctrl+C stops waiting).");
                pending.TrySetResult();
            }, waiting.Token);
            // Only a wait for a human ends when the client leaves: input piped in and closed is served as usual otherwise.
            var gone = pending.Task.ContinueWith(_ => inputClosed, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            if (await Task.WhenAny(asking, gone) != asking)
            {
                await waiting.CancelAsync();
                if (ct.IsCancellationRequested) // a signal, not the client leaving
                {
                    Console.Error.WriteLine($"writ: stopped waiting for {approvalId}; nothing was served, the task is completed");
                    ct.ThrowIfCancellationRequested();
                }
                Console.Error.WriteLine($"writ: the MCP client closed stdin while {approvalId} was waiting for a human; stopped waiting, nothing was served, the task is completed");
                return null;
            }
            Credential credential;
            try
            {
                credential = await asking;
            }
            catch (OperationCanceledException) when (approvalId is not null && ct.IsCancellationRequested)
            {
                Console.Error.WriteLine($"writ: stopped waiting for {approvalId}; nothing was served, the task is completed");
                throw;
            }
            catch (WritApiException e) when (approvalId is not null)
            {
                var what = e.Code switch
                {
                    "approval.denied" => "was denied",
                    "approval.expired" or "elevation.window_closed" => "expired",
                    _ => "ended without a grant",
                };
                Console.Error.WriteLine($"writ: approval {approvalId} for {scope} {what} ({e.Code}): {e.Message}");
                Console.Error.WriteLine("writ: nothing was served; the task is completed");
                return null;
            }
            if (approvalId is null) return new SessionCredential(c => client.GetCredentialAsync(scope, task.Id, target, ttl, ct: c), null, null);
            Console.Error.WriteLine($"writ: approval {approvalId} granted {credential.Scope} until {credential.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, the limit of this session for it; serving");
            return new SessionCredential(_ => Task.FromResult(credential), credential, approvalId);
        }

        public Task<Credential> GetAsync(CancellationToken ct)
        {
            if (_approved is null) return _refresh(ct);
            if (TimeProvider.System.GetUtcNow() < _approved.ExpiresAt - EndMargin) return Task.FromResult(_approved);
            var message = $"the human approval {_approvalId} for {_approved.Scope} ended at {_approved.ExpiresAt.UtcDateTime:HH:mm:ss}Z; an approval grants once, " +
                          "so nothing was sent: restart writ mcp-proxy with --justification to ask a human again";
            if (Interlocked.Exchange(ref _endedNoticed, 1) == 0) Console.Error.WriteLine("writ: " + message);
            throw new WritApiException(401, "mcp.approval_ended", message);
        }
    }

    /// <summary>
    /// stdin as lines, read from the moment the proxy starts (MCP stdio transport: one message per line). A thread of its
    /// own blocks on the pipe (an async read of a console stream is a blocking read on a pool thread plus a hop back), and
    /// hands each line on with synchronous continuations: the relay parses and sends it on this thread, no pool wake-up.
    /// </summary>
    private sealed class InputLines
    {
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = true });

        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public InputLines(CancellationToken ct)
        {
            // A read blocked on the pipe does not see cancellation: stopping ends the input here instead.
            ct.UnsafeRegister(static s => ((InputLines)s!).Close(), this);
            new Thread(Pump) { IsBackground = true, Name = "writ mcp-proxy stdin" }.Start();
        }

        /// <summary>Completes when the client closed stdin (or the proxy is stopping).</summary>
        public Task Closed => _closed.Task;

        private void Pump()
        {
            try
            {
                using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false, 64 * 1024);
                while (stdin.ReadLine() is { } line)
                {
                    if (!_lines.Writer.TryWrite(line)) break;
                }
            }
            catch (IOException)
            {
                // stdin broke: no more input.
            }
            finally
            {
                Close();
            }
        }

        private void Close()
        {
            _lines.Writer.TryComplete();
            _closed.TrySetResult();
        }

        public async ValueTask<string?> ReadLineAsync(CancellationToken ct) =>
            _lines.Reader.TryRead(out var line) ? line
            : await _lines.Reader.WaitToReadAsync(ct) && _lines.Reader.TryRead(out line) ? line : null;
    }

    /// <summary>stdin lines → POST /mcp/RESOURCE → stdout lines. Requests run concurrently (so progress and cancellation work).</summary>
    private sealed class Relay(HttpClient http, Uri endpoint, InputLines input)
    {
        private static readonly MediaTypeHeaderValue Json = new("application/json");

        private readonly Lock _write = new();
        private readonly Stream _stdout = Console.OpenStandardOutput();
        private string? _session;

        public async Task RunAsync(CancellationToken ct)
        {
            // A blocked read of stdin does not always observe cancellation, so a signal is raced against the loop
            // rather than waited for through it; the process exits after the task is completed either way.
            var loop = ReadLoopAsync(ct);
            await Task.WhenAny(loop, Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default));
            if (_session is not null)
            {
                try
                {
                    using var delete = new HttpRequestMessage(HttpMethod.Delete, endpoint);
                    delete.Headers.Add("Mcp-Session-Id", _session);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    using var _ = await http.SendAsync(delete, cts.Token);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or WritApiException)
                {
                    // Best effort: completing the task revokes the credential anyway.
                }
            }
        }

        private async Task ReadLoopAsync(CancellationToken ct)
        {
            var inFlight = new List<Task>();
            try
            {
                while (await input.ReadLineAsync(ct) is { } line)
                {
                    if (line.Length == 0) continue;
                    inFlight.RemoveAll(static t => t.IsCompleted);
                    var body = Encoding.UTF8.GetBytes(line);
                    var (id, method) = Inspect(body);
                    var sending = ForwardAsync(body, id, ct);
                    // Nothing else may go out before the session exists (MCP lifecycle: initialize comes first).
                    if (method == "initialize") await sending;
                    else inFlight.Add(sending);
                }
                // stdin closed: the client is gone. Let answers in flight finish, then end the session.
                await Task.WhenAll(inFlight).WaitAsync(TimeSpan.FromSeconds(10), ct);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException)
            {
                // SIGINT/SIGTERM, or answers that did not finish: the caller completes the task.
            }
        }

        /// <summary>The one parse of a line: its id (for an error the proxy answers itself) and its method.</summary>
        private static (JsonElement? Id, string? Method) Inspect(byte[] line)
        {
            try
            {
                using var document = JsonDocument.Parse(line, Strict);
                if (document.RootElement.ValueKind != JsonValueKind.Object) return (null, null);
                JsonElement? id = document.RootElement.TryGetProperty("id"u8, out var i) && i.ValueKind != JsonValueKind.Null ? i.Clone() : null;
                var method = document.RootElement.TryGetProperty("method"u8, out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                return (id, method);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                // Forwarded as is: the server answers a parse error (also for a string that is not valid Unicode, which
                // reads as InvalidOperationException), or refuses repeated keys (mcp.duplicate_key).
                return (null, null);
            }
        }

        private async Task ForwardAsync(byte[] line, JsonElement? id, CancellationToken ct)
        {
            try
            {
                var content = new ByteArrayContent(line);
                content.Headers.ContentType = Json;
                using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
                request.Headers.TryAddWithoutValidation("Accept", "application/json, text/event-stream");
                if (_session is not null) request.Headers.TryAddWithoutValidation("Mcp-Session-Id", _session);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                if (response.Headers.NonValidated.TryGetValues("Mcp-Session-Id", out var sid)) _session = sid.First();
                if (response.StatusCode == HttpStatusCode.Accepted) return;
                var type = response.Content.Headers.ContentType?.MediaType;
                if (type == "text/event-stream")
                {
                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                    while (await reader.ReadLineAsync(ct) is { } l)
                    {
                        if (l.StartsWith("data:", StringComparison.Ordinal)) WriteLine(Encoding.UTF8.GetBytes(l[5..].TrimStart()));
                    }
                    return;
                }
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                if (type == "application/json")
                {
                    WriteLine(body);
                    return;
                }
                // problem+json (401 after the task was revoked, 404 unknown resource…): a JSON-RPC error the client can show.
                string? code = null, detail = null;
                try
                {
                    var problem = JsonNode.Parse(body);
                    code = (string?)problem?["code"];
                    detail = (string?)problem?["detail"];
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                }
                if (id is { } i) WriteError(i, code ?? "mcp.proxy_error", detail ?? $"the Writ server answered {(int)response.StatusCode}");
            }
            catch (Exception e) when (e is HttpRequestException or WritApiException)
            {
                if (id is { } i)
                    WriteError(i, e is WritApiException api ? api.Code : "mcp.server_unreachable",
                        e is WritApiException a ? a.Message : "the Writ server could not be reached");
            }
        }

        private void WriteError(JsonElement id, string code, string message) =>
            WriteLine(Encoding.UTF8.GetBytes(new JsonObject
            {
                ["jsonrpc"] = "2.0",
                ["id"] = JsonNode.Parse(id.GetRawText()),
                ["error"] = new JsonObject { ["code"] = -32002, ["message"] = message, ["data"] = new JsonObject { ["code"] = code } },
            }.ToJsonString()));

        /// <summary>
        /// One message per line (MCP stdio transport): JSON text with a raw newline is re-serialized compactly. Written
        /// with one synchronous write under a lock: an async write to a console stream is the same write on a pool thread.
        /// </summary>
        private void WriteLine(byte[] json)
        {
            if (json.Length == 0) return;
            if (json.AsSpan().Contains((byte)'\n')) json = JsonNode.Parse(json)?.ToJsonString() is { } compact ? Encoding.UTF8.GetBytes(compact) : json;
            var line = new byte[json.Length + 1];
            json.CopyTo(line, 0);
            line[^1] = (byte)'\n';
            lock (_write)
            {
                _stdout.Write(line);
                _stdout.Flush();
            }
        }

        /// <summary>Repeated keys make a line unreadable here too; the server refuses it.</summary>
        private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };
    }
}
