using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Writ.Core.Common;

namespace Writ.Server.Mcp;

/// <summary>
/// The connection under a <see cref="McpDownstreamClient"/>: it sends JSON-RPC messages, and once started hands every
/// message it receives to the client, in order, until it closes.
/// </summary>
internal interface IMcpWire : IAsyncDisposable
{
    /// <summary>Starts reading; <paramref name="deliver"/> gets each message, the next not before the last one's task is done.</summary>
    void Start(Func<JsonRpcMessage, ValueTask> deliver);

    Task SendAsync(JsonRpcMessage message, CancellationToken ct);

    /// <summary>Completes (never faults) when the connection is gone: the process exited, the transport failed, or it was disposed.</summary>
    Task Closed { get; }
}

/// <summary>
/// A server launched by Writ and spoken to over its stdin and stdout (MCP stdio transport: one JSON-RPC message per line).
/// <para>
/// Written here rather than taken from the SDK's <c>StdioClientTransport</c> for latency: that transport reads stdout
/// with async reads and hands messages on through a channel, so an answer reaches the waiting gateway call after
/// two or three thread-pool hops, each a thread wake-up (tens of µs on a small VM). Here one thread of its own blocks
/// on stdout, parses each line once, and completes the waiting call on the spot.
/// </para>
/// </summary>
internal sealed class McpStdioWire : IMcpWire
{
    /// <summary>Longest line (message) accepted from a server; a longer one closes the connection rather than growing without bound.</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    private static readonly JsonTypeInfo<JsonRpcMessage> MessageType =
        (JsonTypeInfo<JsonRpcMessage>)McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));

    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeSpan _writeTimeout;
    private readonly int _maxMessageBytes;
    private readonly string _name;
    private Func<JsonRpcMessage, ValueTask>? _deliver;

    /// <param name="environment">The whole environment of the process: nothing is inherited beyond it.</param>
    /// <param name="writeTimeout">How long a message may take to go into the server's stdin; a server that stops reading for that long is stopped.</param>
    public McpStdioWire(string name, McpStdioLaunch launch, IReadOnlyDictionary<string, string> environment, TimeSpan writeTimeout, int maxMessageBytes = MaxMessageBytes)
    {
        _name = name;
        _writeTimeout = writeTimeout;
        _maxMessageBytes = maxMessageBytes;
        var start = new ProcessStartInfo(launch.Command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = launch.WorkingDirectory ?? "",
        };
        foreach (var arg in launch.Args) start.ArgumentList.Add(arg);
        start.Environment.Clear();
        foreach (var (key, value) in environment) start.Environment[key] = value;
        try
        {
            _process = Process.Start(start) ?? throw new McpDownstreamUnavailableException("the downstream MCP server could not be started");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            throw new McpDownstreamUnavailableException("the downstream MCP server could not be started", e);
        }
        _stdin = _process.StandardInput.BaseStream;
        // stderr can carry anything the server prints, secrets included: it is read (a full pipe would stall the
        // server) and dropped, neither logged nor kept; a fixed buffer, however long its lines.
        _ = _process.StandardError.BaseStream.CopyToAsync(Stream.Null).ContinueWith(static t => _ = t.Exception,
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    public Task Closed => _closed.Task;

    public void Start(Func<JsonRpcMessage, ValueTask> deliver)
    {
        _deliver = deliver;
        new Thread(ReadLoop) { IsBackground = true, Name = "writ mcp " + _name }.Start();
    }

    public async Task SendAsync(JsonRpcMessage message, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, MessageType);
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        await _writing.WaitAsync(ct);
        try
        {
            if (_closed.Task.IsCompleted) throw new McpDownstreamUnavailableException("the downstream MCP server is gone");
            // Once a line is going out it is finished whatever the agent does: half a line would garble the next message.
            // The pipe takes it at once unless the server stopped reading; one that stays stuck is stopped.
            using var stuck = new CancellationTokenSource(_writeTimeout);
            try
            {
                await _stdin.WriteAsync(line, stuck.Token);
                await _stdin.FlushAsync(stuck.Token);
            }
            catch (OperationCanceledException) when (stuck.IsCancellationRequested)
            {
                Stop();
                throw new McpDownstreamUnavailableException("the downstream MCP server stopped reading its input");
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                throw new McpDownstreamUnavailableException("the downstream MCP server closed its input", e);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    private void ReadLoop()
    {
        try
        {
            var stdout = _process.StandardOutput.BaseStream;
            var buffer = new byte[Math.Min(64 * 1024, _maxMessageBytes)];
            int length = 0, scanned = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= _maxMessageBytes) break; // a message beyond the limit: not this connection's to hold
                    Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, _maxMessageBytes));
                }
                var read = stdout.Read(buffer, length, buffer.Length - length);
                if (read == 0) break;
                length += read;
                var start = 0;
                int newline;
                while ((newline = Array.IndexOf(buffer, (byte)'\n', scanned, length - scanned)) >= 0)
                {
                    Deliver(buffer.AsSpan(start, newline - start));
                    start = scanned = newline + 1;
                }
                scanned = length;
                if (start > 0)
                {
                    buffer.AsSpan(start, length - start).CopyTo(buffer);
                    length -= start;
                    scanned -= start;
                }
                // After a large message, give the memory back instead of holding it for the life of the connection.
                if (buffer.Length > 1024 * 1024 && length < 64 * 1024) buffer = buffer[..(64 * 1024)];
            }
        }
        catch (Exception)
        {
            // The pipe broke or the process is gone; nothing may escape this thread (it would end the server).
        }
        finally
        {
            _closed.TrySetResult();
            Stop();
        }
    }

    private void Deliver(ReadOnlySpan<byte> line)
    {
        if (line.EndsWith("\r"u8)) line = line[..^1];
        if (line.IsEmpty) return;
        JsonRpcMessage? message;
        if (JsonText.HasUnreadableString(line))
        {
            message = UnreadableAnswers.ErrorFor(line);
        }
        else
        {
            try
            {
                message = JsonSerializer.Deserialize(line, MessageType);
            }
            catch (JsonException)
            {
                return; // not a JSON-RPC message (a server printing to stdout): skipped, as the SDK's transport does
            }
        }
        if (message is null) return;
        var delivered = _deliver!(message);
        // In order: the next message waits until this one is handed on (a progress notification written to the agent).
        if (!delivered.IsCompletedSuccessfully) delivered.AsTask().GetAwaiter().GetResult();
    }

    private void Stop()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception)
        {
            // Already gone, or part of its tree cannot be stopped (AggregateException): best effort, and it runs on the
            // reader thread, where nothing may escape.
        }
    }

    /// <summary>Closes the server's stdin (a well-behaved server exits on it), waits up to 2 s, then stops it.</summary>
    public async ValueTask DisposeAsync()
    {
        var held = await _writing.WaitAsync(TimeSpan.FromSeconds(2));
        try
        {
            _stdin.Close();
        }
        catch (IOException)
        {
        }
        finally
        {
            // A reply the reader is still sending (a ping answered while closing) must find the lock free and fail cleanly.
            if (held) _writing.Release();
        }
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                Stop();
            }
        }
        await _closed.Task.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default);
        _process.Dispose();
    }
}

/// <summary>
/// A downstream message with a string .NET cannot read (a lone surrogate escape, bytes that are not UTF-8) would throw
/// wherever Writ reads or writes it. An answer to a request becomes an error answer to that request, at once (not a
/// timeout); any other such message is dropped.
/// </summary>
internal static class UnreadableAnswers
{
    public const string Code = "mcp.downstream_invalid";

    private static readonly JsonTypeInfo MessageType = McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(JsonRpcMessage));

    /// <summary>For a raw line that has such a string: the error answer, when the line is an answer with a readable id.</summary>
    public static JsonRpcError? ErrorFor(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        RequestId? id = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // A request or notification from the downstream carries a method; only answers are turned into errors.
                if (reader.ValueTextEquals("method"u8)) return null;
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number)) id = new RequestId(number);
                else if (isId && reader.TokenType == JsonTokenType.String && JsonText.TryGetString(ref reader, out var text)) id = new RequestId(text!);
                else reader.Skip();
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return id is { } known ? Error(known) : null;
    }

    /// <summary>For a message a transport already parsed: itself when it can be written out, else as <see cref="ErrorFor"/>.</summary>
    public static JsonRpcMessage? Checked(JsonRpcMessage message)
    {
        try
        {
            JsonSerializer.SerializeToUtf8Bytes(message, MessageType);
            return message;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return message switch
            {
                JsonRpcResponse r => Error(r.Id),
                JsonRpcError r => Error(r.Id),
                _ => null,
            };
        }
    }

    private static JsonRpcError Error(RequestId id) => new()
    {
        Id = id,
        Error = new JsonRpcErrorDetail
        {
            Code = -32002,
            Message = "the MCP server answered with a string that is not valid Unicode (a lone surrogate or bytes that are not UTF-8)",
            Data = new System.Text.Json.Nodes.JsonObject { ["code"] = Code },
        },
    };
}

/// <summary>What a stdio downstream is started with: the policy's command, arguments and working directory.</summary>
internal sealed record McpStdioLaunch(string Command, IReadOnlyList<string> Args, string? WorkingDirectory);

/// <summary>An SDK client transport (Streamable HTTP) as a wire: its message channel pumped into the client.</summary>
internal sealed class McpTransportWire(ModelContextProtocol.Protocol.ITransport transport) : IMcpWire
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Closed => _closed.Task;

    public void Start(Func<JsonRpcMessage, ValueTask> deliver) => _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var message in transport.MessageReader.ReadAllAsync(_stop.Token))
            {
                if (UnreadableAnswers.Checked(message) is { } readable) await deliver(readable);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Transport failure or disposal: the connection is closed either way.
        }
        finally
        {
            _closed.TrySetResult();
        }
    });

    public Task SendAsync(JsonRpcMessage message, CancellationToken ct) => transport.SendMessageAsync(message, ct);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await transport.DisposeAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Shutting down a broken connection is best effort.
        }
        await _closed.Task;
        _stop.Dispose();
    }
}
