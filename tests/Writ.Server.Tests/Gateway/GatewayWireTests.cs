using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Writ.Server.Tests.Gateway;

/// <summary>
/// Path tricks and header smuggling sent byte for byte over TCP to Writ on real Kestrel (no client library in between
/// to canonicalise the URL or refuse the header): every one is refused and the upstream receives nothing.
/// </summary>
public sealed class GatewayWireTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private WritFixture _writ = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        var policy = $$"""
            environments: { staging: {} }
            resources:
              crm:
                actions: [read]
                environments:
                  staging:
                    upstream: {{_upstream.BaseUrl}}/staging/
                    routes:
                      - { method: GET, path: "/customers/{account}", action: read }
                      - { method: POST, path: "/customers/{account}", action: read }
            roles:
              reader: { permissions: { crm: [read] } }
            agents:
              bot@staging: { kind: ai-agent, owner: sam@example.com, roles: [reader] }
            """;
        _writ = await WritFixture.StartAsync(policy, b =>
        {
            b.WebHost.UseKestrel();
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        _address = new Uri(_writ.App.Urls.First());
    }

    public async Task DisposeAsync()
    {
        await _writ.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private async Task<string> SendRawAsync(string head, string body = "")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_address.Host, _address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head + body));
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var read = reader.ReadToEndAsync();
        var done = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(read, done);
        return await read;
    }

    private static string Get(string target, string extraHeaders = "") =>
        $"GET {target} HTTP/1.1\r\nHost: localhost\r\n{extraHeaders}Connection: close\r\n\r\n";

    [Theory]
    [InlineData("/gw/crm/customers/12345/../x")]
    [InlineData("/gw/crm/customers/../customers/12345")]
    [InlineData("/gw/crm/customers/12345/%2e%2e/x")]
    [InlineData("/gw/crm/customers/./12345")]
    [InlineData("/gw/crm/customers%2F12345")]
    [InlineData("/gw/crm/customers/12345%2F..%2Fx")]
    [InlineData("/gw/crm//customers/12345")]
    [InlineData("/gw/crm/customers/12345/")]
    [InlineData("/gw/crm/customers\\12345")]
    [InlineData("/gw/crm/customers%5C12345")]
    [InlineData("/gw/crm/customers/%C0%AE%C0%AE/x")]
    [InlineData("/gw/crm/customers/%E0%80%AE")]
    [InlineData("/gw/crm/customers/%252e%252e")]
    [InlineData("/gw/crm/customers/12345%00")]
    [InlineData("/gw/crm/customers/12345%0d%0aX-Injected:%201")]
    [InlineData("/gw/crm/customers/%zz")]
    [InlineData("/gw/cr%6d/customers/12345")]
    [InlineData("/gw/crm/customers/12345/..;/x")]
    public async Task PathTrick_OnTheWire_IsRefusedAndReachesNothing(string target)
    {
        var response = await SendRawAsync(Get(target));

        Assert.StartsWith("HTTP/1.1 4", response);
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("/gw/crm/customers/export.")]
    [InlineData("/gw/crm/customers/export%2E")]
    [InlineData("/gw/crm/customers/export%20")]
    [InlineData("/gw/crm/customers/export%2E%20")]
    public async Task SegmentEndingInDotOrSpace_OnTheWire_IsABadPath(string target)
    {
        // Refused before the token is even looked at: IIS and Windows strip these, so /customers/export. is the export.
        var response = await SendRawAsync(Get(target));

        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.Contains("gateway.bad_path", response);
        Assert.Empty(_upstream.Received);
    }

    [Theory]
    [InlineData("http://attacker.example/gw/crm/customers/12345")]
    [InlineData("//attacker.example/gw/crm/customers/12345")]
    public async Task AbsoluteOrAuthorityTarget_CannotPickTheHost(string target)
    {
        var response = await SendRawAsync(Get(target));
        Assert.DoesNotContain("HTTP/1.1 200", response);
        Assert.All(_upstream.Received, r => Assert.StartsWith("/staging/", r.RawTarget));
    }

    [Fact]
    public async Task DuplicateHost_IsRefused()
    {
        var response = await SendRawAsync(Get("/gw/crm/customers/12345", "Host: attacker.example\r\n"));
        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task ContentLengthAndTransferEncoding_AreRefused()
    {
        var head = "POST /gw/crm/customers/12345 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        var response = await SendRawAsync(head, "0\r\n\r\nGET /gw/crm/customers/1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 4", response);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task ConflictingContentLengths_AreRefused()
    {
        var head = "POST /gw/crm/customers/12345 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
        var response = await SendRawAsync(head, "abcde");
        Assert.StartsWith("HTTP/1.1 400", response);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task BareLineFeedInHeader_NeverReachesUpstream()
    {
        // Kestrel reads a bare LF as a line end (two headers, neither holding a line break); either way nothing leaves.
        var response = await SendRawAsync("GET /gw/crm/customers/12345 HTTP/1.1\r\nHost: localhost\r\nX-Evil: a\nInjected: 1\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 4", response);
        Assert.Empty(_upstream.Received);
    }

    [Fact]
    public async Task ServersKestrel_WritesARelayedNonAsciiHeaderUnchanged_AndStillRefusesLineBreaks()
    {
        // An upstream's UTF-8 header as HttpClient hands it to the gateway (its bytes read as Latin-1), set on the Kestrel
        // that Writ's server and gateway are built on: the agent must get the upstream's bytes, not a 500.
        const string original = "attachment; filename=\"résumé.pdf\"";
        var relayed = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(original));
        await using var app = Writ.Server.Hosting.WritServer.CreateBuilder("http://127.0.0.1:0").Build();
        ((IApplicationBuilder)app).Run(http =>
        {
            http.Response.Headers.ContentDisposition = http.Request.Query.ContainsKey("crlf") ? "a\r\nInjected: 1" : relayed;
            return http.Response.WriteAsync("ok");
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First());

        async Task<string> GetAsync(string target)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(address.Host, address.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            using var bytes = new MemoryStream();
            await stream.CopyToAsync(bytes).WaitAsync(TimeSpan.FromSeconds(10));
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        var plain = await GetAsync("/");
        var split = await GetAsync("/?crlf");

        Assert.StartsWith("HTTP/1.1 200", plain);
        Assert.Contains("Content-Disposition: " + original + "\r\n", plain);
        Assert.StartsWith("HTTP/1.1 500", split);
        Assert.DoesNotContain("Injected", split);
    }
}
