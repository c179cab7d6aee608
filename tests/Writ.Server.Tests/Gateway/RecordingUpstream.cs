using System.Text;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Writ.Server.Tests.Gateway;

/// <summary>What the upstream received: raw request target, method, every header, the body.</summary>
public sealed record ReceivedRequest(string Method, string RawTarget, IReadOnlyDictionary<string, string[]> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? string.Join(",", v) : null;
}

/// <summary>
/// A real HTTP upstream (Kestrel on 127.0.0.1, a free port) that records every request it receives. Paths:
/// <c>…/echo-auth</c> answers 401 repeating the Authorization it got in a header and the body (a leaky upstream);
/// <c>…/slow</c> waits 10 s; <c>…/broken</c> dies mid-body; <c>…/redirect</c> answers 302 to another host; <c>…/big</c> streams 1 MiB;
/// <c>…/echo-basic</c> echoes a Basic credential in four spellings; <c>…/compressed?coding=gzip,br</c> echoes the Authorization it got in a body compressed unasked; anything
/// else answers 200 JSON naming the path.
/// </summary>
public sealed class RecordingUpstream : IAsyncDisposable
{
    private WebApplication _app = null!;

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public string BaseUrl { get; private set; } = "";

    private int _flakyCalls;

    public static async Task<RecordingUpstream> StartAsync()
    {
        var upstream = new RecordingUpstream();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        upstream._app = app;
        upstream.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return upstream;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body);
        var raw = http.Features.Get<IHttpRequestFeature>()!.RawTarget;
        Received.Enqueue(new ReceivedRequest(http.Request.Method, raw,
            http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase), body.ToArray()));
        var path = http.Request.Path.Value ?? "";
        if (path.EndsWith("/echo-auth", StringComparison.Ordinal))
        {
            string auth = http.Request.Headers.Authorization.ToString();
            http.Response.StatusCode = 401;
            http.Response.Headers["X-Debug-Received"] = auth;
            http.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", received=\"{auth}\"";
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync($$"""{"error":"bad token","you_sent":"{{auth}}","query":"{{http.Request.QueryString}}"}""");
            return;
        }
        if (path.EndsWith("/flaky", StringComparison.Ordinal) && Interlocked.Increment(ref _flakyCalls) == 1)
        {
            http.Response.StatusCode = 500; // the first call fails, later ones succeed: a receiver that comes back
            return;
        }
        if (path.EndsWith("/echo-encoded", StringComparison.Ordinal))
        {
            // A leakier upstream: the credential it got, base64-encoded and percent-encoded, in a header and the body.
            string auth = http.Request.Headers.Authorization.ToString();
            var secret = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : auth;
            http.Response.Headers["X-Debug-B64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(auth));
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new
            {
                b64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)),
                nested = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"key\":\"" + secret + "\"}")),
                url = "https://x/cb?t=" + Uri.EscapeDataString(auth),
            }));
            return;
        }
        if (path.EndsWith("/compressed", StringComparison.Ordinal))
        {
            // An upstream that compresses although nobody asked: the credential it got, inside a body in the codings
            // named by ?coding= (applied in that order), or bytes it claims are in an unknown one.
            var codings = (http.Request.Query["coding"].ToString()).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var payload = Encoding.UTF8.GetBytes($$"""{"you_sent":"{{http.Request.Headers.Authorization}}"}""");
            foreach (var coding in codings) payload = Compress(payload, coding);
            if (http.Request.Query.ContainsKey("corrupt")) payload = Encoding.UTF8.GetBytes("this is not in the coding the header names, at all");
            http.Response.ContentType = "application/json";
            http.Response.Headers.ContentEncoding = string.Join(", ", codings);
            http.Response.ContentLength = payload.Length;
            await http.Response.Body.WriteAsync(payload);
            return;
        }
        if (path.EndsWith("/echo-basic", StringComparison.Ordinal))
        {
            // A leaky upstream behind Basic auth: the bare payload, and the password it decodes to as PHP's JSON, Razor's
            // HTML and a lower-case percent-encoder write it.
            string auth = http.Request.Headers.Authorization.ToString();
            var payload = auth.StartsWith("Basic ", StringComparison.Ordinal) ? auth[6..] : "";
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(payload));
            var password = decoded[(decoded.IndexOf(':') + 1)..];
            http.Response.ContentType = "text/plain";
            await http.Response.WriteAsync(string.Join("\n",
                "payload=" + payload.TrimEnd('='),
                "php={\"p\":\"" + password.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("/", "\\/") + "\"}",
                "html=" + System.Text.Encodings.Web.HtmlEncoder.Default.Encode(password),
                "url=" + System.Text.RegularExpressions.Regex.Replace(Uri.EscapeDataString(password), "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant())));
            return;
        }
        if (path.EndsWith("/slow", StringComparison.Ordinal))
        {
            await Task.Delay(TimeSpan.FromSeconds(10), http.RequestAborted);
            return;
        }
        if (path.EndsWith("/broken", StringComparison.Ordinal))
        {
            // Promises 1,000 bytes, sends 10, and drops the connection.
            http.Response.ContentType = "text/plain";
            http.Response.ContentLength = 1000;
            await http.Response.WriteAsync("0123456789");
            await http.Response.Body.FlushAsync();
            await Task.Delay(200); // let the headers reach the gateway first
            http.Abort();
            return;
        }
        if (path.EndsWith("/redirect", StringComparison.Ordinal))
        {
            http.Response.StatusCode = 302;
            http.Response.Headers.Location = "http://attacker.example/steal";
            return;
        }
        if (path.EndsWith("/big", StringComparison.Ordinal))
        {
            http.Response.ContentType = "application/octet-stream";
            var chunk = new byte[64 * 1024];
            for (var i = 0; i < 16; i++) await http.Response.Body.WriteAsync(chunk);
            return;
        }
        http.Response.Headers["Keep-Alive"] = "timeout=5";
        http.Response.Headers["Set-Cookie"] = "session=upstream-session";
        http.Response.ContentType = "application/json";
        var json = System.Text.Encoding.UTF8.GetBytes($$"""{"ok":true,"method":"{{http.Request.Method}}","bytes":{{body.Length}}}""");
        http.Response.ContentLength = json.Length;
        if (!HttpMethods.IsHead(http.Request.Method)) await http.Response.Body.WriteAsync(json);
    }

    private static byte[] Compress(byte[] data, string coding)
    {
        if (coding is "identity" or "zstd") return data; // zstd: the bytes are not really zstd, the gateway must not pass them anyway
        using var output = new MemoryStream();
        using (Stream z = coding switch
        {
            "gzip" => new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true),
            "deflate" => new System.IO.Compression.ZLibStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true),
            "br" => new System.IO.Compression.BrotliStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true),
            _ => throw new ArgumentException(coding),
        })
        {
            z.Write(data);
        }
        return output.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
