using Microsoft.AspNetCore.Http;
using Writ.Core.Policy;
using Writ.Server.Hosting;
using Writ.Server.Http;

namespace Writ.Server.Mcp;

/// <summary>
/// The MCP gateway's HTTP surface: the Streamable HTTP endpoint <c>/mcp/{resource}</c> (POST a JSON-RPC message, DELETE
/// to end a session; no server-initiated GET stream, so GET is 405 as the transport spec allows) and its RFC 9728
/// protected-resource metadata, which names Writ as the authorization server so an MCP client knows where tokens come from.
/// </summary>
internal static class McpEndpoints
{
    public const string Prefix = "/mcp/";

    public static IEndpointRouteBuilder MapMcp(this IEndpointRouteBuilder app)
    {
        app.MapPost("/mcp/{resource}", (HttpContext http, string resource, McpGateway gateway) => gateway.PostAsync(http, resource));
        app.MapDelete("/mcp/{resource}", (HttpContext http, string resource, McpGateway gateway) => gateway.DeleteAsync(http, resource));
        app.MapGet("/mcp/{resource}", (HttpContext http) =>
        {
            http.Response.Headers.Allow = "POST, DELETE";
            return Problems.Of(405, "mcp.no_stream", "this MCP endpoint answers each POST directly and offers no server-initiated stream");
        });
        app.MapGet("/.well-known/oauth-protected-resource/mcp/{resource}", (string resource, ServerContext server, PolicyHolder policy) =>
            IsMcpResource(policy.Current, resource)
                ? Results.Json(Metadata(server, resource))
                : Problems.Of(404, "mcp.unknown_resource", $"no MCP resource {resource} in the policy in force"));
        return app;
    }

    /// <summary>RFC 9728 §2 metadata. Tokens must be DPoP-bound (RFC 9449 §5.2 <c>dpop_bound_access_tokens_required</c>).</summary>
    public static Dictionary<string, object> Metadata(ServerContext server, string resource) => new()
    {
        ["resource"] = ResourceUrl(server, resource),
        ["authorization_servers"] = new[] { server.Issuer },
        ["bearer_methods_supported"] = new[] { "header" },
        ["dpop_signing_alg_values_supported"] = new[] { "ES256" },
        ["dpop_bound_access_tokens_required"] = true,
        ["scopes_supported"] = Array.Empty<string>(),
        ["resource_name"] = resource,
        ["resource_documentation"] = "https://github.com/writ-dev/writ/blob/main/docs/mcp.md",
    };

    public static string ResourceUrl(ServerContext server, string resource) => server.Issuer + Prefix + resource;

    public static string MetadataUrl(ServerContext server, string resource) => server.Issuer + "/.well-known/oauth-protected-resource/mcp/" + resource;

    private static bool IsMcpResource(CompiledPolicy? policy, string resource) =>
        policy is not null && policy.Model.Resources.TryGetValue(resource, out var r) && r.Environments.Values.Any(e => e.Mcp is not null);
}
