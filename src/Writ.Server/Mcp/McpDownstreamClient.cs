using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Writ.Server.Mcp;

/// <summary>A downstream call that did not answer within the resource's timeout.</summary>
internal sealed class McpDownstreamTimeoutException() : Exception("the downstream MCP server did not answer in time");

/// <summary>The downstream connection is gone (the process exited, the HTTP server refused); the next call reconnects.</summary>
internal sealed class McpDownstreamUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One live MCP client session with a downstream server, shared by every agent session of the same resource×environment.
/// A wire carries the raw JSON-RPC messages (<see cref="McpStdioWire"/> for a launched server, the SDK's
/// <see cref="HttpClientTransport"/> for Streamable HTTP); this class multiplexes them: each forwarded request gets a
/// fresh downstream id, and each progress token a fresh downstream token, so answers and progress notifications go back
/// to the one agent request they belong to and no agent can see or steer another's traffic. Not <c>McpClient</c>:
/// the gateway forwards messages it has checked, not typed calls, and a typed client would drop fields it does not know.
/// </summary>
internal sealed class McpDownstreamClient : IAsyncDisposable
{
    public const string ProtocolVersion = "2025-06-18";

    private readonly IMcpWire _wire;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonRpcMessage>> _pending = new();
    private readonly ConcurrentDictionary<string, Func<JsonNode?, ValueTask>> _progress = new(StringComparer.Ordinal);
    private long _nextId;

    private McpDownstreamClient(IMcpWire wire)
    {
        _wire = wire;
        _wire.Closed.ContinueWith(static (_, self) => ((McpDownstreamClient)self!).FailPending(), this,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _wire.Start(DeliverAsync);
    }

    /// <summary>The downstream's <c>initialize</c> result (capabilities, serverInfo, instructions).</summary>
    public JsonObject Initialize { get; private set; } = [];

    public bool IsAlive => !_wire.Closed.IsCompleted;

    /// <param name="open">Opens the wire (launches the process, connects the transport); not started yet.</param>
    public static async Task<McpDownstreamClient> ConnectAsync(Func<CancellationToken, Task<IMcpWire>> open, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        IMcpWire wire;
        try
        {
            wire = await open(cts.Token);
        }
        catch (Exception e) when (e is not McpDownstreamUnavailableException && (e is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw new McpDownstreamUnavailableException("the downstream MCP server could not be started or reached", e);
        }
        var client = new McpDownstreamClient(wire);
        try
        {
            var answer = await client.RequestAsync("initialize", new JsonObject
            {
                ["protocolVersion"] = ProtocolVersion,
                ["capabilities"] = new JsonObject(),
                ["clientInfo"] = new JsonObject { ["name"] = "writ-mcp-gateway", ["version"] = "1" },
            }, null, timeout, ct);
            if (answer is not JsonRpcResponse { Result: JsonObject result })
                throw new McpDownstreamUnavailableException("the downstream MCP server refused initialize");
            client.Initialize = result;
            await wire.SendAsync(new JsonRpcNotification { Method = "notifications/initialized" }, ct);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Sends one request and waits for its answer (a response or an error). <paramref name="onProgress"/>, when given,
    /// receives the downstream's <c>notifications/progress</c> params for this request (its token already swapped back by
    /// the caller's closure). On timeout the downstream is told to cancel (<c>notifications/cancelled</c>).
    /// </summary>
    public async Task<JsonRpcMessage> RequestAsync(string method, JsonNode? parameters, Func<JsonNode?, ValueTask>? onProgress, TimeSpan timeout, CancellationToken ct)
    {
        if (!IsAlive) throw new McpDownstreamUnavailableException("the downstream MCP server is gone");
        var id = Interlocked.Increment(ref _nextId);
        // Completed on the wire's reader, and the waiting call continues right there (no thread-pool hop): what follows
        // an answer in the gateway only relays it and awaits anything slower (the audit commit), so it never holds the
        // reader for long.
        var pending = new TaskCompletionSource<JsonRpcMessage>();
        _pending[id] = pending;
        if (!IsAlive)
        {
            _pending.TryRemove(id, out _);
            throw new McpDownstreamUnavailableException("the downstream MCP server is gone");
        }
        string? progressToken = null;
        if (onProgress is not null && parameters is JsonObject p)
        {
            progressToken = "writ-" + id;
            var meta = p["_meta"] as JsonObject ?? new JsonObject();
            meta["progressToken"] = progressToken;
            p["_meta"] = meta;
            _progress[progressToken] = onProgress;
        }
        try
        {
            await _wire.SendAsync(new JsonRpcRequest { Id = new RequestId(id), Method = method, Params = parameters }, ct);
            return await pending.Task.WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            await CancelAsync(id, "timed out at the Writ gateway");
            throw new McpDownstreamTimeoutException();
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await CancelAsync(id, "cancelled by the agent");
            throw;
        }
        catch (Exception e) when (e is not McpDownstreamUnavailableException and not OperationCanceledException)
        {
            throw new McpDownstreamUnavailableException("the downstream MCP server connection failed", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
            if (progressToken is not null) _progress.TryRemove(progressToken, out _);
        }
    }

    private async Task CancelAsync(long id, string reason)
    {
        try
        {
            await _wire.SendAsync(new JsonRpcNotification
            {
                Method = "notifications/cancelled",
                Params = new JsonObject { ["requestId"] = id, ["reason"] = reason },
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Best effort: a dead transport is found by the reader loop.
        }
    }

    /// <summary>One message from the downstream, in the order it sent them.</summary>
    private async ValueTask DeliverAsync(JsonRpcMessage message)
    {
        switch (message)
        {
            case JsonRpcResponse or JsonRpcError when ((JsonRpcMessageWithId)message).Id.Id is long id && _pending.TryGetValue(id, out var waiter):
                waiter.TrySetResult(message);
                break;
            case JsonRpcNotification { Method: "notifications/progress", Params: JsonObject p }
                when p["progressToken"]?.GetValueKind() == System.Text.Json.JsonValueKind.String && _progress.TryGetValue((string)p["progressToken"]!, out var sink):
                try
                {
                    await sink(p);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // The agent's stream went away; its request still completes or times out.
                }
                break;
            case JsonRpcRequest request:
                // Server-to-client requests (sampling, elicitation, roots) would let a downstream ask the agent's
                // model or files for things outside policy: Writ declares no client capabilities and answers ping only.
                JsonRpcMessage reply = request.Method == "ping"
                    ? new JsonRpcResponse { Id = request.Id, Result = new JsonObject() }
                    : new JsonRpcError { Id = request.Id, Error = new JsonRpcErrorDetail { Code = -32601, Message = "the Writ gateway does not relay server-to-client requests" } };
                try
                {
                    await _wire.SendAsync(reply, CancellationToken.None);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The wire is failing; its waiters are failed when it has closed.
                }
                break;
        }
    }

    private void FailPending()
    {
        foreach (var (_, waiter) in _pending)
            waiter.TrySetException(new McpDownstreamUnavailableException("the downstream MCP server closed the connection"));
    }

    public ValueTask DisposeAsync() => _wire.DisposeAsync();
}
