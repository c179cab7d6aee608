using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using Writ.Server.Mcp;

namespace Writ.Server.Tests.Mcp;

/// <summary>
/// The stdio wire against small shell scripts standing in for MCP servers: how it splits and parses what a server
/// prints, what it does with garbage, oversized lines, a server that dies or stops reading, and what environment a
/// launched server gets.
/// </summary>
public sealed class McpStdioWireTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static McpStdioWire Launch(string script, IReadOnlyDictionary<string, string>? env = null, TimeSpan? writeTimeout = null, int maxMessageBytes = McpStdioWire.MaxMessageBytes) =>
        new("test", new McpStdioLaunch("/bin/sh", ["-c", script], null), env ?? new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            writeTimeout ?? Wait, maxMessageBytes);

    private static BlockingCollection<JsonRpcMessage> Start(McpStdioWire wire)
    {
        var received = new BlockingCollection<JsonRpcMessage>();
        wire.Start(m =>
        {
            received.Add(m);
            return ValueTask.CompletedTask;
        });
        return received;
    }

    private static JsonRpcMessage Next(BlockingCollection<JsonRpcMessage> received) =>
        received.TryTake(out var m, Wait) ? m : throw new TimeoutException("no message from the wire");

    private static string Note(int n) => "{\"jsonrpc\":\"2.0\",\"method\":\"note\",\"params\":{\"n\":" + n + "}}";

    [Fact]
    public async Task Messages_SplitAcrossWritesOrSharingOne_ArriveWholeAndInOrder_GarbageAndCrlfSkipped()
    {
        // One write with two messages and the start of a third; the rest of it later; a non-JSON line; CRLF endings.
        var script = $"printf '%s\\n%s\\n%s' '{Note(1)}' '{Note(2)}' '{Note(3)[..20]}'; sleep 0.2; printf '%s\\r\\n' '{Note(3)[20..]}'; " +
                     $"echo 'debug: not a message'; echo; printf '%s\\r\\n' '{Note(4)}'; sleep 5";
        await using var wire = Launch(script);
        var received = Start(wire);

        var numbers = Enumerable.Range(0, 4).Select(_ => (int)((JsonRpcNotification)Next(received)).Params!["n"]!).ToArray();

        Assert.Equal([1, 2, 3, 4], numbers);
    }

    [Fact]
    public async Task Request_IsWrittenAsOneLine_AndTheServerReadsIt()
    {
        var file = Path.GetTempFileName();
        try
        {
            // The server keeps the first line it reads, then says so.
            await using var wire = Launch($"read -r line; printf '%s' \"$line\" > '{file}'; printf '%s\\n' '{Note(1)}'; sleep 5");
            var received = Start(wire);

            await wire.SendAsync(new JsonRpcRequest { Id = new RequestId(7), Method = "tools/call", Params = new JsonObject { ["name"] = "echo", ["text"] = "a\nb" } }, CancellationToken.None);
            Next(received);

            var sent = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
            Assert.Equal((7, "tools/call", "a\nb"), ((int)sent["id"]!, (string)sent["method"]!, (string)sent["params"]!["text"]!));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task LineLongerThanTheLimit_ClosesTheWireAndStopsTheServer()
    {
        await using var wire = Launch($"printf '%s\\n' '{Note(1)}'; head -c 300000 /dev/zero | tr '\\0' 'x'; echo; printf '%s\\n' '{Note(2)}'; sleep 30", maxMessageBytes: 100_000);
        var received = Start(wire);

        Assert.Equal(1, (int)((JsonRpcNotification)Next(received)).Params!["n"]!);
        await wire.Closed.WaitAsync(Wait);

        Assert.False(received.TryTake(out _, TimeSpan.FromMilliseconds(200)), "nothing after the oversized line is delivered");
        await Assert.ThrowsAsync<McpDownstreamUnavailableException>(() => wire.SendAsync(new JsonRpcNotification { Method = "x" }, CancellationToken.None));
    }

    [Fact]
    public async Task ServerExits_WireCloses_AndSendingFailsClearly()
    {
        await using var wire = Launch("exit 3");
        Start(wire);

        await wire.Closed.WaitAsync(Wait);

        var e = await Assert.ThrowsAsync<McpDownstreamUnavailableException>(() => wire.SendAsync(new JsonRpcNotification { Method = "x" }, CancellationToken.None));
        Assert.Contains("gone", e.Message);
    }

    [Fact]
    public async Task ServerThatStopsReading_SendTimesOut_AndTheServerIsStopped()
    {
        await using var wire = Launch("sleep 30", writeTimeout: TimeSpan.FromMilliseconds(500));
        Start(wire);
        // Larger than a pipe's buffer (64 KiB on Linux): the write cannot finish while nobody reads.
        var big = new JsonRpcNotification { Method = "x", Params = new JsonObject { ["pad"] = new string('p', 256 * 1024) } };

        var e = await Assert.ThrowsAsync<McpDownstreamUnavailableException>(() => wire.SendAsync(big, CancellationToken.None).WaitAsync(Wait));

        Assert.Contains("stopped reading", e.Message);
        await wire.Closed.WaitAsync(Wait);
    }

    [Fact]
    public async Task LaunchedServer_SeesOnlyTheEnvironmentItIsGiven()
    {
        Environment.SetEnvironmentVariable("WRIT_WIRE_TEST_LEAK", "must-not-pass");
        try
        {
            await using var wire = Launch("printf '{\"jsonrpc\":\"2.0\",\"method\":\"env\",\"params\":{\"given\":\"%s\",\"leak\":\"%s\"}}\\n' \"$GIVEN\" \"$WRIT_WIRE_TEST_LEAK\"; sleep 5",
                new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["GIVEN"] = "fake-injected-value" });
            var received = Start(wire);

            var p = ((JsonRpcNotification)Next(received)).Params!;

            Assert.Equal(("fake-injected-value", ""), ((string)p["given"]!, (string)p["leak"]!));
        }
        finally
        {
            Environment.SetEnvironmentVariable("WRIT_WIRE_TEST_LEAK", null);
        }
    }

    [Fact]
    public void CommandThatCannotStart_IsUnavailable_NotACrash()
    {
        var e = Assert.Throws<McpDownstreamUnavailableException>(() =>
            new McpStdioWire("test", new McpStdioLaunch("/nonexistent/mcp-server", [], null), new Dictionary<string, string>(), Wait));

        Assert.Contains("could not be started", e.Message);
    }

    [Fact]
    public async Task Dispose_StopsAServerThatIgnoresTheEndOfItsInput()
    {
        var wire = Launch("trap '' TERM; while true; do sleep 1; done");
        Start(wire);

        await wire.DisposeAsync().AsTask().WaitAsync(Wait);

        Assert.True(wire.Closed.IsCompleted);
    }
}
