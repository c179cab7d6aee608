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
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        client.Authorize(request, await credential(cancellationToken));
        return await base.SendAsync(request, cancellationToken);
    }
}
