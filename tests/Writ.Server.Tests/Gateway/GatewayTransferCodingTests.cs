using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// An upstream that answers <c>Transfer-Encoding: gzip, chunked</c>: the HTTP client hands the body on still gzipped and
/// the header is hop-by-hop, so a credential inside it would pass the scrubber unseen. The gateway refuses such answers.
/// The upstream is a raw socket, since no HTTP server library sends that header.
/// </summary>
public sealed class GatewayTransferCodingTests : IAsyncLifetime
{
    private const string Secret = "sk_staging_PLANTED_transfer_coding";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private WritFixture _writ = null!;

    public async Task InitializeAsync()
    {
        _listener.Start();
        _ = ServeAsync();
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _writ = await WritFixture.StartAsync($$"""
            environments: { staging: {} }
            resources:
              crm:
                actions: [read]
                environments:
                  staging:
                    upstream: http://127.0.0.1:{{port}}/
                    credential: { secret: crm-staging, inject: { header: Authorization, template: "Bearer {secret}" } }
                    routes:
                      - { method: GET, path: "/leak", action: read }
            roles:
              crm-reader: { permissions: { crm: [read] } }
            agents:
              reader@staging: { kind: ai-agent, owner: sam@example.com, roles: [crm-reader] }
            """);
        await _writ.Admin().PutSecretAsync("crm-staging", Secret);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _writ.DisposeAsync();
    }

    /// <summary>Answers every request with the credential it got, gzipped as a transfer coding, in one chunk.</summary>
    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var stream = client.GetStream();
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0) break;
                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            var auth = request.ToString().Split("\r\n").FirstOrDefault(l => l.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase)) ?? "";
            using var gzipped = new MemoryStream();
            await using (var gz = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
                await gz.WriteAsync(Encoding.UTF8.GetBytes("{\"you_sent\":\"" + auth + "\"}"));
            var body = gzipped.ToArray();
            var head = $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n{body.Length:x}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(body);
            await stream.WriteAsync("\r\n0\r\n\r\n"u8.ToArray());
        }
    }

    [Fact]
    public async Task Upstream_TransferCodingOtherThanChunked_Is502_AndTheSecretNeverComesBack()
    {
        var agent = await _writ.EnrollAsync("reader@staging");
        var task = await agent.Client.StartTaskAsync("transfer coding test");
        var credential = await agent.Client.GetCredentialAsync("crm:read", task.Id, null);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(WritFixture.Issuer + "/gw/crm/leak"));
        agent.Client.Authorize(request, credential);

        using var response = await _writ.Http().SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("gateway.upstream_encoding", Encoding.UTF8.GetString(bytes));
        Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(bytes));
        var entries = await _writ.Admin().SearchAuditAsync(resource: "crm", limit: 50);
        Assert.Contains(entries, e => e.Action == "gateway.result" && e.Reason == "gateway.upstream_encoding");
    }
}
