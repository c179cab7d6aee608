using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Writ.Server.Gateway;

/// <summary>Gateway timeouts and limits. One instance per server; tests may register their own.</summary>
internal sealed class GatewayOptions
{
    /// <summary>From sending the request until the upstream's response headers arrive; past it the caller gets 504.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Textual responses up to this size (with a Content-Length) are buffered so the credential can be scrubbed from them.</summary>
    public int MaxScrubbedBodyBytes { get; init; } = 64 * 1024;

    /// <summary>A body the gateway decodes to scrub it may expand to at most this much (a compression bomb is cut, 502).</summary>
    public long MaxDecodedBodyBytes { get; init; } = 256L * 1024 * 1024;
}

/// <summary>
/// Forwards one checked call to its upstream on a pooled <see cref="SocketsHttpHandler"/>: no redirects followed
/// (a redirect goes back to the agent, with the credential scrubbed), no cookies, no proxy, no automatic decompression
/// (a body compressed unasked is decoded by the gateway only to scrub it: <see cref="Decode"/>).
/// Hop-by-hop headers, and those the Connection header names, are dropped both ways (RFC 9110 §7.6.1); the agent's
/// Authorization, DPoP and Cookie headers never reach the upstream; the credential is injected by the caller.
/// </summary>
internal sealed class UpstreamForwarder : IDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authorization",
    };

    /// <summary>
    /// Request headers the gateway owns or refuses to pass: the agent's credential, cookies, framing and
    /// forwarding headers; Accept-Encoding, Range, If-Range and Accept-Charset (responses must come back whole,
    /// uncompressed and in the bytes the scrubber knows, or a secret could leave in slices or another encoding);
    /// and the headers upstream frameworks honour to run another method or path than the one the route was
    /// matched on (X-HTTP-Method-Override: DELETE on a write route would bypass no-delete and elevation).
    /// Every X-Forwarded-* header is dropped too (<see cref="IsStripped"/>).
    /// </summary>
    private static readonly HashSet<string> StrippedFromRequest = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Authorization", "DPoP", "Cookie", "Content-Length", "Expect", "Accept-Encoding", "Range", "If-Range", "Accept-Charset",
        "Forwarded", "X-Real-IP", "True-Client-IP", "X-Client-IP",
        "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL", "X-Original-Method",
    };

    private static bool IsStripped(string name) =>
        StrippedFromRequest.Contains(name) || name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase);

    /// <summary>The gateway does not keep upstream sessions for agents.</summary>
    private static readonly HashSet<string> StrippedFromResponse = new(StringComparer.OrdinalIgnoreCase) { "Set-Cookie", "Content-Length" };

    private readonly HttpMessageInvoker _client;

    public UpstreamForwarder(GatewayOptions options)
    {
        Options = options;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ActivityHeadersPropagator = null,
        }, disposeHandler: true);
    }

    public GatewayOptions Options { get; }

    /// <summary>
    /// Refuses requests whose headers could be read differently by the gateway and the upstream (RFC 9112 §6.3):
    /// CR, LF or NUL in a value, a value that is not ASCII, more than one Host, Content-Length together with Transfer-Encoding, several or
    /// non-numeric Content-Length values, a Transfer-Encoding other than chunked.
    /// </summary>
    public static string? CheckRequestHeaders(HttpRequest request)
    {
        foreach (var (name, values) in request.Headers)
        {
            foreach (var v in values)
            {
                if (v is null) continue;
                if (v.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) return $"the header {name} holds CR, LF or NUL";
                // HttpClient refuses to send such a value, which read as an unreachable upstream (502); and the bytes that
                // would reach the upstream depend on how each side decodes them. Header values are ASCII (RFC 9110 §5.5).
                if (!System.Text.Ascii.IsValid(v)) return $"the header {name} holds characters outside ASCII; send header values in ASCII (percent-encode or use RFC 8187 for text)";
            }
        }
        if (request.Headers.Host.Count > 1) return "the request has more than one Host header";
        var cl = request.Headers.ContentLength;
        var te = request.Headers.TransferEncoding;
        if (request.Headers.TryGetValue("Content-Length", out var clValues) && clValues.Count > 0)
        {
            if (clValues.Count > 1 || !long.TryParse(clValues[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                return "the request has several or malformed Content-Length values";
            if (te.Count > 0) return "the request has both Content-Length and Transfer-Encoding";
        }
        if (te.Count > 0 && !(te.Count == 1 && string.Equals(te[0]?.Trim(), "chunked", StringComparison.OrdinalIgnoreCase)))
            return "only Transfer-Encoding: chunked is accepted";
        return null;
    }

    public HttpRequestMessage BuildRequest(HttpRequest incoming, Uri target, string? injectedHeader, string? injectedValue)
    {
        var message = new HttpRequestMessage(new HttpMethod(incoming.Method), target) { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        var hasBody = incoming.ContentLength > 0 || incoming.Headers.TransferEncoding.Count > 0;
        if (hasBody)
        {
            message.Content = new StreamContent(incoming.Body, 16 * 1024);
            if (incoming.ContentLength is { } length) message.Content.Headers.ContentLength = length;
        }
        var connectionNamed = ConnectionNamed(incoming.Headers.Connection);
        foreach (var (name, values) in incoming.Headers)
        {
            if (HopByHop.Contains(name) || IsStripped(name) || connectionNamed.Contains(name)) continue;
            if (injectedHeader is not null && string.Equals(name, injectedHeader, StringComparison.OrdinalIgnoreCase)) continue;
            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        if (injectedHeader is not null && injectedValue is not null) message.Headers.TryAddWithoutValidation(injectedHeader, injectedValue);
        return message;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) => _client.SendAsync(request, ct);

    /// <summary>
    /// Copies status and end-to-end headers, replacing every scrub value found in a header with <c>[redacted]</c>;
    /// without Content-Encoding when the gateway decodes the body.
    /// </summary>
    public static void CopyResponseHeaders(HttpResponseMessage upstream, HttpResponse response, SecretMatcher scrub, bool dropContentEncoding = false)
    {
        response.StatusCode = (int)upstream.StatusCode;
        var connectionNamed = ConnectionNamed(string.Join(",", upstream.Headers.Connection));
        foreach (var header in upstream.Headers.Concat(upstream.Content.Headers))
        {
            if (HopByHop.Contains(header.Key) || StrippedFromResponse.Contains(header.Key) || connectionNamed.Contains(header.Key)) continue;
            if (dropContentEncoding && string.Equals(header.Key, "Content-Encoding", StringComparison.OrdinalIgnoreCase)) continue;
            response.Headers[header.Key] = new StringValues(header.Value.Select(scrub.Replace).ToArray());
        }
    }

    public static bool IsScrubbable(HttpResponseMessage upstream, int max)
    {
        var h = upstream.Content.Headers;
        if (h.ContentLength is not { } length || length > max) return false;
        if (ContentCodings(upstream).Count > 0) return false;
        var type = h.ContentType?.MediaType;
        return type is null || type.StartsWith("text/", StringComparison.OrdinalIgnoreCase) || type.Contains("json", StringComparison.OrdinalIgnoreCase)
            || type.Contains("xml", StringComparison.OrdinalIgnoreCase) || type.Contains("x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The content codings of the body in the order they were applied, <c>identity</c> left out, lower case.</summary>
    public static IReadOnlyList<string> ContentCodings(HttpResponseMessage upstream) =>
        upstream.Content.Headers.ContentEncoding.Count == 0 ? [] : upstream.Content.Headers.ContentEncoding
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(v => v.ToLowerInvariant())
            .Where(v => v != "identity")
            .ToList();

    /// <summary>Whether every coding is one <see cref="Decode"/> knows, at most two stacked: a deeper stack only serves to multiply a bomb.</summary>
    public static bool CanDecode(IReadOnlyList<string> codings) => codings.Count <= 2 && codings.All(c => c is "gzip" or "x-gzip" or "deflate" or "br");

    /// <summary>
    /// A transfer coding other than chunked (e.g. <c>Transfer-Encoding: gzip, chunked</c>): the handler hands the body on
    /// still coded, and the header is hop-by-hop, so neither the scrubber nor the agent would be told. Such bodies are refused.
    /// </summary>
    public static bool HasForeignTransferCoding(HttpResponseMessage upstream) =>
        upstream.Headers.TransferEncoding.Any(t => !string.Equals(t.Value, "chunked", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The body with its codings undone, last applied first (RFC 9110 §8.4), streaming: memory stays bounded whatever
    /// the ratio. <c>deflate</c> is the zlib format (RFC 9110 §8.4.1.2).
    /// </summary>
    public static Stream Decode(Stream body, IReadOnlyList<string> codings)
    {
        for (var i = codings.Count - 1; i >= 0; i--)
        {
            body = codings[i] switch
            {
                "gzip" or "x-gzip" => new System.IO.Compression.GZipStream(body, System.IO.Compression.CompressionMode.Decompress),
                "deflate" => new System.IO.Compression.ZLibStream(body, System.IO.Compression.CompressionMode.Decompress),
                "br" => new System.IO.Compression.BrotliStream(body, System.IO.Compression.CompressionMode.Decompress),
                _ => throw new InvalidOperationException("not a decodable content coding: " + codings[i]),
            };
        }
        return body;
    }

    private static HashSet<string> ConnectionNamed(StringValues connection)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var v in connection)
        {
            if (v is null) continue;
            foreach (var token in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) set.Add(token);
        }
        return set;
    }

    public void Dispose() => _client.Dispose();
}
