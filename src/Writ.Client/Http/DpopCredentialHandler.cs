namespace Writ.Client.Http;

/// <summary>
/// An <see cref="HttpMessageHandler"/> for calling a tool through Writ (the HTTP or MCP gateway) with a task-scoped
/// credential: every request gets <c>Authorization: DPoP &lt;token&gt;</c> and a fresh proof for its method and URL
/// (RFC 9449 §7.1). The credential comes from <paramref name="credential"/> on each request, so a cached one is
/// refreshed by <see cref="WritAgentClient.GetCredentialAsync"/> before it expires. Plug it under any HTTP client,
/// e.g. an MCP SDK's Streamable HTTP transport.
/// </summary>
public sealed class DpopCredentialHandler(WritAgentClient client, Func<CancellationToken, Task<Credential>> credential, HttpMessageHandler? inner = null)
    : DelegatingHandler(inner ?? new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
{
    /// <summary>
    /// The oldest a proof signed ahead may be when it is used. The server accepts an <c>iat</c> up to
    /// <c>DpopValidationOptions.MaxAge</c> (60 s) old; this stays well inside it, leaving room for a clock that lags.
    /// </summary>
    public static readonly TimeSpan SignedAheadMaxAge = TimeSpan.FromSeconds(10);

    /// <summary>How often an unused proof signed ahead is replaced, so one is fresh after a pause between calls.</summary>
    private static readonly TimeSpan SignAheadRefresh = TimeSpan.FromSeconds(4);

    private Ready? _ready;
    private string? _lastToken;
    private ITimer? _timer;
    private int _disposed;

    /// <summary>
    /// The one method and URL (e.g. <c>POST /mcp/files</c>) whose next proof is signed ahead, off the request's path:
    /// only <c>jti</c> and <c>iat</c> change between such proofs. Each proof is still used once (taken atomically), made
    /// for the token it goes with, and no older than <see cref="SignedAheadMaxAge"/>; otherwise one is signed inline.
    /// </summary>
    public (HttpMethod Method, Uri Uri)? SignAhead { get; init; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var c = await credential(cancellationToken);
        if (SignAhead is not { } ahead || request.Method != ahead.Method || request.RequestUri != ahead.Uri)
        {
            client.Authorize(request, c);
            return await base.SendAsync(request, cancellationToken);
        }
        var ready = Interlocked.Exchange(ref _ready, null);
        var proof = ready is not null && ready.Token == c.AccessToken && client.Clock.GetUtcNow() - ready.SignedAt < SignedAheadMaxAge
            ? ready.Proof
            : client.CreateProof(ahead.Method, ahead.Uri, c.AccessToken);
        WritAgentClient.Authorize(request, c, proof);
        var sending = base.SendAsync(request, cancellationToken);
        // The request is on its way (or waits for a connection): sign the next proof on this thread while the server
        // works on this one, rather than waking a pool thread for it.
        Volatile.Write(ref _lastToken, c.AccessToken);
        SignNext();
        return await sending;
    }

    private void SignNext()
    {
        if (Volatile.Read(ref _disposed) != 0 || SignAhead is not { } ahead || Volatile.Read(ref _lastToken) is not { } token) return;
        var now = client.Clock.GetUtcNow();
        Volatile.Write(ref _ready, new Ready(token, now, client.CreateProof(ahead.Method, ahead.Uri, token)));
        if (Volatile.Read(ref _timer) is not null) return;
        var timer = client.Clock.CreateTimer(static h => ((DpopCredentialHandler)h!).Refresh(), this, SignAheadRefresh, SignAheadRefresh);
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null || Volatile.Read(ref _disposed) != 0) timer.Dispose();
    }

    /// <summary>Between calls: replace a proof that waited long enough to be refused by <see cref="SignedAheadMaxAge"/> soon.</summary>
    private void Refresh()
    {
        if (Volatile.Read(ref _ready) is { } ready && client.Clock.GetUtcNow() - ready.SignedAt < SignAheadRefresh) return;
        SignNext();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Exchange(ref _timer, null)?.Dispose();
        base.Dispose(disposing);
    }

    private sealed record Ready(string Token, DateTimeOffset SignedAt, string Proof);
}
