using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Protocol;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Policy;
using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Mcp;

/// <summary>
/// The MCP gateway (DESIGN flow step 4 for MCP; invariants 1, 2, 3, 4, 7, 10). Each POST to <c>/mcp/{resource}</c> goes
/// through one sequential pipeline: token and proof → the resource's MCP server in the token's environment → parse the
/// JSON-RPC message → session → policy for the method (tool/resource/prompt rule, scope, argument constraints, paths
/// normalised) → audit the decision → forward to the shared downstream with a timeout → scrub injected secrets → audit
/// the outcome → answer. Methods outside the forwarded set are refused (default deny), including everything a downstream
/// could use to reach back into the agent (sampling, roots, elicitation).
/// </summary>
internal sealed class McpGateway(
    BoundTokenAuthenticator authenticator,
    PolicyHolder policies,
    McpDownstreamPool downstreams,
    McpSessions sessions,
    McpOptions options,
    IWritStore store,
    AuditLog audit,
    ServerContext server,
    TimeProvider clock)
{
    public static readonly string[] ProtocolVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

    /// <summary>JSON-RPC error codes (JSON-RPC 2.0 §5.1; -32000..-32099 are server-defined). <c>data.code</c> carries Writ's stable code.</summary>
    private const int ParseError = -32700, InvalidRequest = -32600, MethodNotFound = -32601, InvalidParams = -32602;
    private const int DownstreamTimeout = -32001, DownstreamUnavailable = -32002, Forbidden = -32003;

    private const string SessionHeader = "Mcp-Session-Id";

    /// <summary>The facts of one call, filled in as the checks pass, for its audit records.</summary>
    private sealed class Call(string resource)
    {
        public string Resource { get; } = resource;
        public AccessTokenClaims? Claims { get; set; }
        public string ActorKind { get; set; } = ActorKinds.Unknown;
        public int? PolicyVersion { get; set; }
        public string? Method { get; set; }
        public string? Name { get; set; }
        public string? Action { get; set; }
        public string? Arguments { get; set; }
        public string? Session { get; set; }
        public long Started { get; init; }

        /// <summary>True once the allow decision has its own record (forwarded calls); the outcome then goes in <c>mcp.result</c>.</summary>
        public bool DecisionRecorded { get; set; }

        /// <summary>The commit of that decision; a read's may still be under way while the downstream answers.</summary>
        public Task Decided { get; set; } = Task.CompletedTask;
    }

    public async Task PostAsync(HttpContext http, string resource)
    {
        var ct = http.RequestAborted;
        var call = new Call(resource) { Started = clock.GetTimestamp() };

        // DNS rebinding (MCP transport spec, security warning): a browser page must not reach this endpoint as itself.
        if (http.Request.Headers.Origin is [{ } origin] && !string.Equals(origin.TrimEnd('/'), OriginOf(server.Issuer), StringComparison.OrdinalIgnoreCase))
        {
            await DenyAsync(call, "mcp.bad_origin", ct);
            await Problems.WriteAsync(http, 403, "mcp.bad_origin", "requests from a browser origin other than the Writ server's are refused");
            return;
        }

        // 1. Token and proof: signature, expiry, audience = this resource, revocation, task open, agent active, DPoP
        //    bound to cnf.jkt with htm/htu/ath, replay (RFC 9449 §7). Unauthenticated: 401 pointing at our metadata.
        var claims = await authenticator.AuthenticateAsync(http, resource);
        if (!claims.IsSuccess)
        {
            var e = claims.Error!;
            await DenyAsync(call, e.Code, ct);
            var error = e.Code == "auth.missing" ? "" : "error=\"invalid_token\", ";
            http.Response.Headers.WWWAuthenticate = $"DPoP {error}algs=\"ES256\", resource_metadata=\"{McpEndpoints.MetadataUrl(server, resource)}\"";
            await Problems.WriteAsync(http, 401, e.Code, e.Message);
            return;
        }
        var c = claims.Value;
        call.Claims = c;

        // 2. The resource's MCP server in the token's environment: a staging token only reaches the staging server (invariant 2).
        var policy = policies.Current;
        call.PolicyVersion = policy?.Version;
        if (policy is null || !policy.Model.Resources.TryGetValue(resource, out var res) || !res.Environments.TryGetValue(c.Environment, out var env) || env.Mcp is not { } target)
        {
            await DenyAsync(call, "mcp.unknown_resource", ct);
            await Problems.WriteAsync(http, 404, "mcp.unknown_resource", $"{resource} is not an MCP server in {c.Environment}, the environment of this credential");
            return;
        }

        // 3. One JSON-RPC message (batches were removed from MCP in 2025-06-18).
        var parsed = await ReadMessageAsync(http.Request);
        if (parsed.Error is { } bad)
        {
            // The caller is authenticated: the record names its kind (an ai-agent sending a crafted message), not "unknown".
            call.ActorKind = (await store.Agents.GetAsync(c.Subject, ct))?.Kind ?? ActorKinds.Unknown;
            await DenyAsync(call, bad.Code, ct);
            await WriteErrorAsync(http, 400, null, bad.RpcCode, bad.Code, bad.Message);
            return;
        }
        var message = parsed.Message!;
        var method = message["method"]?.GetValueKind() == JsonValueKind.String ? (string)message["method"]! : null;
        var id = message["id"];
        call.Method = method;

        // 4. The session: opened by initialize, then required, and only ever valid for the agent and task that opened it.
        McpSession? session = null;
        if (method != "initialize")
        {
            string? sid = http.Request.Headers[SessionHeader];
            if (sid is null)
            {
                await DenyAsync(call, "mcp.session_required", ct);
                await WriteErrorAsync(http, 400, id, InvalidRequest, "mcp.session_required", "send initialize first, then the Mcp-Session-Id it returned on every request");
                return;
            }
            session = sessions.Find(sid, resource, c.Environment, c.Subject, c.TaskId);
            if (session is null)
            {
                await DenyAsync(call, "mcp.unknown_session", ct);
                await WriteErrorAsync(http, 404, id, InvalidRequest, "mcp.unknown_session", "this session does not exist (or belongs to another task): initialize a new one");
                return;
            }
            call.Session = session.Id;
            call.ActorKind = session.ActorKind;
        }
        else
        {
            call.ActorKind = (await store.Agents.GetAsync(c.Subject, ct))?.Kind ?? ActorKinds.Unknown;
        }

        // Responses and notifications from the client need no answer (202). Cancellation is passed on by the downstream
        // client itself when the agent's request is aborted.
        if (method is null || id is null)
        {
            http.Response.StatusCode = 202;
            return;
        }
        if (id.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Number))
        {
            await DenyAsync(call, "mcp.invalid_request", ct);
            await WriteErrorAsync(http, 400, null, InvalidRequest, "mcp.invalid_request", "a request id must be a string or a number");
            return;
        }
        var parameters = message["params"];
        if (parameters is not null and not JsonObject)
        {
            await DenyAsync(call, "mcp.invalid_params", ct);
            await WriteErrorAsync(http, 200, id, InvalidParams, "mcp.invalid_params", "params must be a JSON object");
            return;
        }
        await DispatchAsync(http, call, target, policy, session, method, id, (JsonObject?)parameters);
    }

    private async Task DispatchAsync(HttpContext http, Call call, McpServerTarget target, CompiledPolicy policy, McpSession? session, string method, JsonNode id, JsonObject? parameters)
    {
        var ct = http.RequestAborted;
        var c = call.Claims!;
        switch (method)
        {
            case "ping":
                await AllowAsync(call, ct);
                await WriteResultAsync(http, id, new JsonObject(), null);
                return;

            case "initialize":
            {
                var lease = await LeaseAsync(http, call, target, id);
                if (lease is null) return;
                var requested = parameters?["protocolVersion"]?.GetValueKind() == JsonValueKind.String ? (string)parameters["protocolVersion"]! : null;
                var version = requested is not null && ProtocolVersions.Contains(requested) ? requested : McpDownstreamClient.ProtocolVersion;
                var opened = sessions.Open(call.Resource, c.Environment, c.Subject, c.TaskId, version, call.ActorKind);
                call.Session = opened.Id;
                await AllowAsync(call, ct);
                http.Response.Headers[SessionHeader] = opened.Id;
                await WriteResultAsync(http, id, InitializeResult(call.Resource, target, lease.Client.Initialize, version), lease.Scrub);
                return;
            }

            case "tools/list":
            case "resources/list":
            case "resources/templates/list":
            case "prompts/list":
                await ListAsync(http, call, target, method, id, parameters);
                return;

            case "tools/call":
            {
                var name = StringParam(parameters, "name");
                call.Name = name;
                var verdict = McpGuard.CheckTool(target, call.Resource, c, policy, name, parameters?["arguments"]);
                call.Arguments = McpRedaction.ForAudit(parameters?["arguments"], []);
                call.Action = verdict.Action;
                if (!verdict.Allowed)
                {
                    // A tool refusal is a tool result with isError (MCP tools spec): the model reads why and can explain it.
                    await DenyAsync(call, verdict.Code!, ct);
                    await WriteResultAsync(http, id, ToolError(verdict.Code!, verdict.Message), null);
                    return;
                }
                var forwarded = (JsonObject)parameters!.DeepClone();
                if (verdict.Arguments is not null) forwarded["arguments"] = verdict.Arguments;
                await ForwardAsync(http, call, target, method, id, forwarded);
                return;
            }

            case "resources/read":
            case "prompts/get":
            {
                var key = method == "resources/read" ? "uri" : "name";
                var name = StringParam(parameters, key);
                call.Name = name;
                if (method == "prompts/get") call.Arguments = McpRedaction.ForAudit(parameters?["arguments"], []);
                var verdict = method == "resources/read"
                    ? McpGuard.CheckResource(target, call.Resource, c, policy, name)
                    : McpGuard.CheckPrompt(target, call.Resource, c, policy, name);
                call.Action = verdict.Action;
                if (!verdict.Allowed)
                {
                    await DenyAsync(call, verdict.Code!, ct);
                    await WriteErrorAsync(http, 200, id, Forbidden, verdict.Code!, verdict.Message);
                    return;
                }
                await ForwardAsync(http, call, target, method, id, (JsonObject)parameters!.DeepClone());
                return;
            }

            default:
                // Default deny: subscriptions, completion, logging level and anything newer are not forwarded.
                call.Name = method.Length > 64 ? method[..64] : method;
                await DenyAsync(call, "mcp.method_not_allowed", ct);
                await WriteErrorAsync(http, 200, id, MethodNotFound, "mcp.method_not_allowed", $"the Writ gateway does not forward '{McpGuard.Shown(call.Name)}'");
                return;
        }
    }

    private async Task ListAsync(HttpContext http, Call call, McpServerTarget target, string method, JsonNode id, JsonObject? parameters)
    {
        var ct = http.RequestAborted;
        var lease = await LeaseAsync(http, call, target, id);
        if (lease is null) return;
        var forwarded = new JsonObject();
        if (parameters?["cursor"] is { } cursor) forwarded["cursor"] = cursor.DeepClone();
        var answer = await AwaitAnswerAsync(http, call, target, id, lease.Client.RequestAsync(method, forwarded, null, target.Timeout, http.RequestAborted));
        if (answer is null) return;
        if (answer is JsonRpcResponse { Result: JsonObject result })
        {
            var (listKey, nameKey, rules) = method switch
            {
                "tools/list" => ("tools", "name", target.Tools),
                "resources/list" => ("resources", "uri", target.Resources),
                "resources/templates/list" => ("resourceTemplates", "uriTemplate", target.Resources),
                _ => ("prompts", "name", target.Prompts),
            };
            // Only what this credential could use is shown: a tool the model never sees is a tool it never tries.
            if (result[listKey] is JsonArray items)
            {
                var kept = new JsonArray();
                foreach (var item in items.ToArray())
                {
                    var name = item?[nameKey]?.GetValueKind() == JsonValueKind.String ? (string)item[nameKey]! : null;
                    if (McpGuard.Listable(rules, call.Resource, call.Claims!, name))
                    {
                        items.Remove(item);
                        kept.Add(item);
                    }
                }
                result[listKey] = kept;
            }
            await AllowAsync(call, ct);
            await WriteResultAsync(http, id, result, lease.Scrub);
            return;
        }
        await AllowAsync(call, ct, error: "mcp.downstream_error");
        await WriteMessageAsync(http, 200, Relay(answer, id), lease.Scrub);
    }

    private async Task ForwardAsync(HttpContext http, Call call, McpServerTarget target, string method, JsonNode id, JsonObject forwarded)
    {
        var ct = http.RequestAborted;
        var lease = await LeaseAsync(http, call, target, id);
        if (lease is null) return;

        // Progress (MCP basic/utilities/progress): when the agent asked for it and reads SSE, the downstream's progress
        // notifications are streamed back under the agent's own token; otherwise the token is not passed on.
        var agentToken = forwarded["_meta"]?["progressToken"]?.DeepClone();
        if (forwarded["_meta"] is JsonObject meta) meta.Remove("progressToken");
        SseWriter? sse = null;
        if (agentToken is not null && AcceptsSse(http.Request)) sse = new SseWriter(http, lease.Scrub);

        // The decision is durable before the agent sees anything (invariant 7). A call that may change state (any action
        // but read) waits for it before anything reaches the downstream. A read changes nothing downstream: it goes out
        // first and its decision is committed while the downstream works (on this thread when the audit writer is idle),
        // the answer held until the commit is done, so the fsync and the downstream round trip overlap instead of adding
        // up (as the HTTP gateway does for GET). A read that streams progress waits too, since each notification reaches
        // the agent as it comes. The record is committed even if the agent hangs up meanwhile (CancellationToken.None):
        // once the call may be on its way downstream, the log must say so.
        var overlap = call.Action == PolicyActions.Read && sse is null;
        var sent = overlap ? lease.Client.RequestAsync(method, forwarded, null, target.Timeout, ct) : null;
        call.Decided = AllowAsync(call, overlap ? CancellationToken.None : ct);
        call.DecisionRecorded = true;
        if (!overlap) await call.Decided;
        // Every path that answers the agent awaits it; this only keeps a failure on an unexpected path from going unobserved.
        _ = call.Decided.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        JsonRpcMessage? answer;
        try
        {
            answer = await AwaitAnswerAsync(http, call, target, id, sent ?? lease.Client.RequestAsync(method, forwarded, sse is null ? null : p =>
            {
                var copy = (JsonObject)p!.DeepClone();
                copy["progressToken"] = agentToken!.DeepClone();
                return sse.WriteAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "notifications/progress", ["params"] = copy });
            }, target.Timeout, ct), sse);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The agent hung up while the downstream was answering: nothing to send, but the decision must still be durable.
            await call.Decided;
            throw;
        }
        if (answer is null) return;

        var reply = Relay(answer, id);
        var text = McpRedaction.Scrub(reply.ToJsonString(), lease.Scrub);
        var isError = answer is JsonRpcError || (answer is JsonRpcResponse { Result: JsonObject r } && r["isError"]?.GetValueKind() == JsonValueKind.True);
        var reason = isError ? "mcp.result_error" : null;
        if (overlap)
        {
            // A read's outcome record does not hold up its answer (OutcomeAsync): it is queued once the answer is on its way.
            await call.Decided;
            try
            {
                await WriteTextAsync(http, 200, text);
            }
            finally
            {
                DeferOutcome(call, reason, McpRedaction.Utf8Length(text));
            }
            return;
        }
        await OutcomeAsync(call, reason, McpRedaction.Utf8Length(text), ct);
        if (sse is not null) await sse.WriteRawAsync(text);
        else await WriteTextAsync(http, 200, text);
    }

    /// <summary>The downstream, connected; on failure the agent gets a JSON-RPC error and the failure is audited.</summary>
    private async Task<McpDownstreamLease?> LeaseAsync(HttpContext http, Call call, McpServerTarget target, JsonNode id)
    {
        try
        {
            return await downstreams.GetAsync(call.Resource, call.Claims!.Environment, target, http.RequestAborted);
        }
        catch (McpDownstreamUnavailableException e)
        {
            // The message names a missing secret or that the server did not start; never the exception chain.
            await DenyAsync(call, "mcp.downstream_unavailable", http.RequestAborted);
            await WriteErrorAsync(http, 200, id, DownstreamUnavailable, "mcp.downstream_unavailable", $"{call.Resource}: {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// Waits for the downstream's answer to <paramref name="request"/> (sent with the resource's timeout); a timeout or a
    /// dead downstream is audited and answered.
    /// </summary>
    private async Task<JsonRpcMessage?> AwaitAnswerAsync(HttpContext http, Call call, McpServerTarget target, JsonNode id, Task<JsonRpcMessage> request, SseWriter? sse = null)
    {
        var ct = http.RequestAborted;
        try
        {
            return await request;
        }
        catch (McpDownstreamTimeoutException)
        {
            await OutcomeAsync(call, "mcp.downstream_timeout", 0, ct);
            var error = ErrorMessage(id, DownstreamTimeout, "mcp.downstream_timeout", $"{call.Resource} did not answer within {target.Timeout.TotalSeconds:0} s; the call was cancelled");
            if (sse is not null) await sse.WriteAsync(error);
            else await WriteMessageAsync(http, 200, error, null);
            return null;
        }
        catch (McpDownstreamUnavailableException)
        {
            await OutcomeAsync(call, "mcp.downstream_unavailable", 0, ct);
            var error = ErrorMessage(id, DownstreamUnavailable, "mcp.downstream_unavailable", $"{call.Resource} closed the connection; the next call starts it again");
            if (sse is not null) await sse.WriteAsync(error);
            else await WriteMessageAsync(http, 200, error, null);
            return null;
        }
    }

    public async Task DeleteAsync(HttpContext http, string resource)
    {
        var claims = await authenticator.AuthenticateAsync(http, resource);
        if (!claims.IsSuccess)
        {
            // A refused credential is a security event on every method, DELETE too (the session itself carries no authority).
            await BearerCredential.AuditRefusalAsync(http, "mcp.session_close", ActorKinds.Unknown, "unknown", claims.Error!.Code);
            http.Response.Headers.WWWAuthenticate = $"DPoP error=\"invalid_token\", algs=\"ES256\", resource_metadata=\"{McpEndpoints.MetadataUrl(server, resource)}\"";
            await Problems.WriteAsync(http, 401, claims.Error!.Code, claims.Error.Message);
            return;
        }
        var c = claims.Value;
        var session = http.Request.Headers[SessionHeader].ToString() is { Length: > 0 } sid ? sessions.Find(sid, resource, c.Environment, c.Subject, c.TaskId) : null;
        if (session is null)
        {
            await Problems.WriteAsync(http, 404, "mcp.unknown_session", "no such session");
            return;
        }
        sessions.Close(session);
        http.Response.StatusCode = 204;
    }

    // ---- messages ----

    private sealed record ParseFailure(int RpcCode, string Code, string Message);

    private async Task<(JsonObject? Message, ParseFailure? Error)> ReadMessageAsync(HttpRequest request)
    {
        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return (null, new ParseFailure(InvalidRequest, "mcp.unsupported_media_type", "send the JSON-RPC message as application/json"));
        if (request.ContentLength > options.MaxRequestBytes)
            return (null, new ParseFailure(InvalidRequest, "mcp.too_large", $"a message is at most {options.MaxRequestBytes} bytes"));
        // A pooled buffer sized by Content-Length (grown if the length was not given): a message is read on every call,
        // and the parse below copies what it keeps, so the buffer goes back to the pool when this returns, wiped first
        // (arguments may carry an agent's data).
        var buffer = ArrayPool<byte>.Shared.Rent(request.ContentLength is { } declared ? (int)declared + 1 : 4096);
        var filled = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(filled), request.HttpContext.RequestAborted)) > 0)
            {
                filled += read;
                if (filled > options.MaxRequestBytes)
                    return (null, new ParseFailure(InvalidRequest, "mcp.too_large", $"a message is at most {options.MaxRequestBytes} bytes"));
                if (filled == buffer.Length) buffer = Grown(buffer, Math.Min(buffer.Length * 2, options.MaxRequestBytes + 1));
            }
            return ParseMessage(buffer.AsMemory(0, filled));
        }
        finally
        {
            buffer.AsSpan(0, Math.Min(filled, buffer.Length)).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static byte[] Grown(byte[] buffer, int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        buffer.AsSpan().CopyTo(bigger);
        buffer.AsSpan().Clear();
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    private static (JsonObject? Message, ParseFailure? Error) ParseMessage(ReadOnlyMemory<byte> body)
    {
        // Strings .NET cannot read (a lone surrogate escape, bytes that are not UTF-8) would throw wherever a value or key is
        // read, the strict parse's duplicate check included; and a downstream may read them differently from Writ.
        // Refused as malformed, like any other bad JSON.
        if (JsonText.HasUnreadableString(body.Span))
            return (null, new ParseFailure(ParseError, "mcp.parse_error", "the body has a string that is not valid Unicode (a lone surrogate or bytes that are not UTF-8)"));
        JsonNode? node;
        try
        {
            // Repeated keys are refused, not resolved: Writ would check one value while the downstream may act on another
            // (parsers differ: some keep the first value, JavaScript's JSON.parse the last), e.g. "name":"read_text_file","name":"write_file".
            node = JsonNode.Parse(body.Span, documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            if (DuplicateKey(body) is { } duplicate)
                return (null, new ParseFailure(InvalidRequest, "mcp.duplicate_key",
                    $"the key '{McpGuard.Shown(duplicate.Name)}' appears more than once in {McpGuard.Shown(duplicate.Where)}: messages with repeated keys are refused at any depth, so that Writ and the MCP server read the same call"));
            // The position helps the caller; the message never echoes the content.
            return (null, new ParseFailure(ParseError, "mcp.parse_error", $"the body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})"));
        }
        // Keys that differ only in letter case are repeated keys too, to a downstream that matches fields ignoring case
        // (Go's encoding/json: "name" and "Name" are one field, the last one wins).
        if (node is not null && FoldedDuplicate(node, "$") is { } folded)
            return (null, new ParseFailure(InvalidRequest, "mcp.duplicate_key",
                $"the key '{McpGuard.Shown(folded.Name)}' appears more than once in {McpGuard.Shown(folded.Where)}: messages with repeated keys are refused at any depth, so that Writ and the MCP server read the same call"));
        return node switch
        {
            JsonArray => (null, new ParseFailure(InvalidRequest, "mcp.batch_unsupported", "send one JSON-RPC message per request (MCP 2025-06-18 has no batches)")),
            JsonObject o when o["jsonrpc"]?.GetValueKind() == JsonValueKind.String && (string)o["jsonrpc"]! == "2.0"
                && (o["method"] is null || o["method"]!.GetValueKind() == JsonValueKind.String) => (o, null),
            _ => (null, new ParseFailure(InvalidRequest, "mcp.invalid_request", "the body must be a JSON-RPC 2.0 object with \"jsonrpc\": \"2.0\" and a string \"method\"")),
        };
    }

    /// <summary>For a body the strict parse refused: the first repeated key and where it is (<c>$.params.arguments</c>), if that was why.</summary>
    private static (string Name, string Where)? DuplicateKey(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return Find(document.RootElement, "$");
        }
        catch (JsonException)
        {
            return null;
        }

        static (string, string)? Find(JsonElement element, string where)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!seen.Add(property.Name)) return (property.Name, where);
                    if (Find(property.Value, where + "." + property.Name) is { } inner) return inner;
                }
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Find(item, $"{where}[{i++}]") is { } inner) return inner;
                }
            }
            return null;
        }
    }

    private static (string Name, string Where)? FoldedDuplicate(JsonNode node, string where) =>
        FoldedDuplicateUnder(node) is { } found ? (found.Name, where + found.Path) : null;

    /// <summary>The first repeated folded key under <paramref name="node"/> and the path to its object below the node; the path is built only for a find.</summary>
    private static (string Name, string Path)? FoldedDuplicateUnder(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                // Objects in a message are small: pairs compared in place; a set past a few keys, so a large object stays linear.
                HashSet<string>? seen = o.Count > 16 ? new HashSet<string>(StringComparer.Ordinal) : null;
                for (var i = 0; i < o.Count; i++)
                {
                    var (name, value) = o.GetAt(i);
                    if (seen is not null ? !seen.Add(Core.Common.CaseFolding.Fold(name)) : RepeatsAnEarlierKey(o, i)) return (name, "");
                    if (value is not null && FoldedDuplicateUnder(value) is { } inner) return (inner.Name, "." + name + inner.Path);
                }
                return null;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is { } item && FoldedDuplicateUnder(item) is { } inner) return (inner.Name, $"[{i}]{inner.Path}");
                }
                return null;
            default:
                return null;
        }
    }

    private static bool RepeatsAnEarlierKey(JsonObject o, int index)
    {
        var name = o.GetAt(index).Key;
        for (var j = 0; j < index; j++)
        {
            var earlier = o.GetAt(j).Key;
            if (earlier.Length != name.Length) continue;
            // Fold keeps the length; for ASCII it is lower-casing, which OrdinalIgnoreCase matches without a new string.
            if (System.Text.Ascii.IsValid(name) && System.Text.Ascii.IsValid(earlier)
                    ? string.Equals(earlier, name, StringComparison.OrdinalIgnoreCase)
                    : Core.Common.CaseFolding.Fold(earlier) == Core.Common.CaseFolding.Fold(name))
                return true;
        }
        return false;
    }

    private static string? StringParam(JsonObject? parameters, string key) =>
        parameters?[key]?.GetValueKind() == JsonValueKind.String ? (string)parameters[key]! : null;

    private static JsonObject InitializeResult(string resource, McpServerTarget target, JsonObject downstream, string version)
    {
        var theirs = downstream["capabilities"] as JsonObject;
        var capabilities = new JsonObject();
        // Only what Writ forwards, without list-changed or subscribe (both need a server-initiated stream).
        if (theirs?["tools"] is not null && target.Tools.Rules.Count > 0) capabilities["tools"] = new JsonObject();
        if (theirs?["resources"] is not null && target.Resources.Rules.Count > 0) capabilities["resources"] = new JsonObject();
        if (theirs?["prompts"] is not null && target.Prompts.Rules.Count > 0) capabilities["prompts"] = new JsonObject();
        var result = new JsonObject
        {
            ["protocolVersion"] = version,
            ["capabilities"] = capabilities,
            ["serverInfo"] = new JsonObject
            {
                ["name"] = "writ/" + resource,
                ["version"] = downstream["serverInfo"]?["version"]?.DeepClone() ?? "1",
            },
        };
        if (downstream["instructions"] is { } instructions) result["instructions"] = instructions.DeepClone();
        return result;
    }

    private static JsonObject ToolError(string code, string message) => new()
    {
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = $"Refused by Writ ({code}): {message}" }),
        ["isError"] = true,
    };

    /// <summary>The downstream's answer under the agent's request id.</summary>
    private static JsonObject Relay(JsonRpcMessage answer, JsonNode id) => answer switch
    {
        JsonRpcResponse r => new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["result"] = r.Result?.DeepClone() ?? new JsonObject() },
        JsonRpcError e => new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = id.DeepClone(),
            ["error"] = new JsonObject { ["code"] = e.Error.Code, ["message"] = e.Error.Message, ["data"] = e.Error.Data is null ? null : JsonSerializer.SerializeToNode(e.Error.Data) },
        },
        _ => ErrorMessage(id, DownstreamUnavailable, "mcp.downstream_error", "the downstream answered with something that is not a response"),
    };

    private static JsonObject ErrorMessage(JsonNode? id, int rpcCode, string code, string message) => new()
    {
        ["jsonrpc"] = "2.0",
        ["id"] = id?.DeepClone(),
        ["error"] = new JsonObject { ["code"] = rpcCode, ["message"] = message, ["data"] = new JsonObject { ["code"] = code } },
    };

    private static Task WriteErrorAsync(HttpContext http, int status, JsonNode? id, int rpcCode, string code, string message) =>
        WriteMessageAsync(http, status, ErrorMessage(id, rpcCode, code, message), null);

    private static Task WriteResultAsync(HttpContext http, JsonNode id, JsonObject result, IReadOnlyList<string>? scrub) =>
        WriteMessageAsync(http, 200, new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["result"] = result }, scrub);

    private static Task WriteMessageAsync(HttpContext http, int status, JsonObject message, IReadOnlyList<string>? scrub)
    {
        var text = message.ToJsonString();
        return WriteTextAsync(http, status, scrub is null ? text : McpRedaction.Scrub(text, scrub));
    }

    private static async Task WriteTextAsync(HttpContext http, int status, string json)
    {
        if (http.Response.HasStarted) return;
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(json);
        http.Response.ContentLength = bytes.Length;
        await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
    }

    private static bool AcceptsSse(HttpRequest request) =>
        request.Headers.Accept.Any(a => a is not null && a.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase));

    private static string OriginOf(string issuer) => new Uri(issuer).GetLeftPart(UriPartial.Authority);

    /// <summary>One SSE response (MCP Streamable HTTP): progress notifications, then the answer; every event scrubbed.</summary>
    private sealed class SseWriter(HttpContext http, IReadOnlyList<string> scrub)
    {
        private readonly SemaphoreSlim _lock = new(1, 1);

        public ValueTask WriteAsync(JsonObject message) => new(WriteRawAsync(message.ToJsonString()));

        public async Task WriteRawAsync(string json)
        {
            await _lock.WaitAsync(http.RequestAborted);
            try
            {
                if (!http.Response.HasStarted)
                {
                    http.Response.StatusCode = 200;
                    http.Response.ContentType = "text/event-stream";
                    http.Response.Headers.CacheControl = "no-cache";
                }
                var bytes = Encoding.UTF8.GetBytes("event: message\ndata: " + McpRedaction.Scrub(json, scrub) + "\n\n");
                await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
            }
            finally
            {
                _lock.Release();
            }
        }
    }

    // ---- audit ----

    private Task DenyAsync(Call call, string reason, CancellationToken ct) => RecordAsync(call, Decisions.Deny, reason, null, ct, outcome: false);

    /// <summary>
    /// What the downstream answered: <c>mcp.result</c> after a recorded decision, else the one <c>mcp.call</c> record with
    /// decision and outcome (lists, initialize). The answer waits for the decision's commit either way. A state-changing
    /// call's outcome is durable before the answer leaves; a read's joins the next group commit (its decision is durable
    /// and it changed nothing downstream), so a read costs one durable commit, overlapped with the downstream.
    /// </summary>
    private async Task OutcomeAsync(Call call, string? reason, long bytes, CancellationToken ct)
    {
        if (!call.DecisionRecorded)
        {
            await RecordAsync(call, Decisions.Allow, reason, bytes, ct, outcome: false);
            return;
        }
        await call.Decided;
        if (call.Action == PolicyActions.Read) DeferOutcome(call, reason, bytes);
        else await RecordAsync(call, Decisions.Info, reason, bytes, ct, outcome: true);
    }

    /// <summary>A read's <c>mcp.result</c>, once its decision is durable: it joins the next group commit.</summary>
    private void DeferOutcome(Call call, string? reason, long bytes) => audit.Defer(Event(call, Decisions.Info, reason, bytes, outcome: true));

    /// <summary>The allow decision; for calls answered without a separate outcome record (lists, initialize) it is written once they are answered.</summary>
    private Task AllowAsync(Call call, CancellationToken ct, string? error = null) => RecordAsync(call, Decisions.Allow, error, null, ct, outcome: false);

    /// <summary>
    /// <c>mcp.call</c> records the decision (before anything that may change state is forwarded); <c>mcp.result</c> what
    /// the downstream answered to a forwarded call (size, error, timeout). Both fail closed (invariant 7): if the audit
    /// cannot be written, the middleware answers 503 and nothing is forwarded or returned.
    /// </summary>
    private Task RecordAsync(Call call, string decision, string? reason, long? bytes, CancellationToken ct, bool outcome) =>
        audit.RecordAsync(Event(call, decision, reason, bytes, outcome), null, ct);

    private AuditEvent Event(Call call, string decision, string? reason, long? bytes, bool outcome)
    {
        var c = call.Claims;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (call.Method is not null) w.WriteString("method", call.Method.Length > 64 ? call.Method[..64] : call.Method);
            if (call.Name is not null) w.WriteString("name", call.Name.Length > 256 ? call.Name[..256] : call.Name);
            if (call.Arguments is not null)
            {
                w.WritePropertyName("arguments");
                w.WriteRawValue(call.Arguments);
            }
            if (call.Session is not null) w.WriteString("session", call.Session[..8]);
            if (bytes is { } b) w.WriteNumber("result_bytes", b);
            w.WriteEndObject();
        }
        var scope = call.Action is null ? null : call.Resource + ":" + call.Action;
        return new AuditEvent(clock.GetUtcNow(), call.ActorKind, c?.Subject ?? "unknown", c?.OnBehalfOf, c?.TaskId,
            outcome ? "mcp.result" : "mcp.call", call.Resource, c?.Environment, scope, c?.Target, decision, reason, call.PolicyVersion,
            (long)clock.GetElapsedTime(call.Started).TotalMicroseconds, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
