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

    /// <summary>
    /// The header that carries the proof for the next request (Writ's extension): the Writ server verifies its signature
    /// while nothing waits for it, and the next request, presenting exactly that proof, skips only that step.
    /// </summary>
    public const string NextProofHeader = "Writ-Next-DPoP";

    private readonly Lock _lock = new();
    private Ready? _current; // the proof for the next request; announced to the server when it went out as _next before
    private Ready? _next;    // the one after it, sent along with the next request
    private string? _lastToken;
    private ITimer? _timer;
    private int _disposed;

    /// <summary>
    /// The one method and URL (e.g. <c>POST /mcp/files</c>) whose next proofs are signed ahead, off the request's path:
    /// only <c>jti</c> and <c>iat</c> change between such proofs. Each request also carries the proof for the one after
    /// it (<see cref="NextProofHeader"/>), so the server has verified that proof's signature by the time it is used.
    /// Each proof is still used once, made for the token it goes with, and no older than <see cref="SignedAheadMaxAge"/>;
    /// otherwise one is signed inline.
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
        Ready? current, next;
        lock (_lock)
        {
            (current, next) = (_current, _next);
            (_current, _next) = (null, null);
        }
        var proof = Usable(current, c.AccessToken) ? current!.Proof : client.CreateProof(ahead.Method, ahead.Uri, c.AccessToken);
        WritAgentClient.Authorize(request, c, proof);
        if (!Usable(next, c.AccessToken)) next = null;
        if (next is not null) request.Headers.TryAddWithoutValidation(NextProofHeader, next.Proof);
        var sending = base.SendAsync(request, cancellationToken);
        // The request is on its way (or waits for a connection): sign the proof after the announced one on this thread
        // while the server works on this one, rather than waking a pool thread for it.
        Volatile.Write(ref _lastToken, c.AccessToken);
        SignNext(next);
        return await sending;
    }

    private bool Usable(Ready? ready, string token) =>
        ready is not null && ready.Token == token && client.Clock.GetUtcNow() - ready.SignedAt < SignedAheadMaxAge;

    /// <summary>The announced proof becomes the next one to use; a new one is signed to go out with it.</summary>
    private void SignNext(Ready? announced)
    {
        if (Volatile.Read(ref _disposed) != 0 || SignAhead is not { } ahead || Volatile.Read(ref _lastToken) is not { } token) return;
        Ready Sign() => new(token, client.Clock.GetUtcNow(), client.CreateProof(ahead.Method, ahead.Uri, token));
        var current = announced ?? Sign();
        var next = Sign();
        lock (_lock)
        {
            // Requests running at once each took what was there; the last one to finish leaves its pair.
            (_current, _next) = (current, next);
        }
        if (Volatile.Read(ref _timer) is not null) return;
        var timer = client.Clock.CreateTimer(static h => ((DpopCredentialHandler)h!).Refresh(), this, SignAheadRefresh, SignAheadRefresh);
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null || Volatile.Read(ref _disposed) != 0) timer.Dispose();
    }

    /// <summary>Between calls: replace proofs that waited long enough to be refused by <see cref="SignedAheadMaxAge"/> soon.</summary>
    private void Refresh()
    {
        lock (_lock)
        {
            if (_current is { } ready && client.Clock.GetUtcNow() - ready.SignedAt < SignAheadRefresh) return;
        }
        SignNext(null);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Exchange(ref _timer, null)?.Dispose();
        base.Dispose(disposing);
    }

    private sealed record Ready(string Token, DateTimeOffset SignedAt, string Proof);
}
