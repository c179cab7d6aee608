using Microsoft.AspNetCore.Http;

namespace Writ.Server.Hosting;

/// <summary>
/// Facts about this server that requests are checked against: the issuer URL tokens name, and the
/// absolute URL of a path as clients must write it in DPoP <c>htu</c> (built from the configured
/// issuer, never from the request's Host header, which the client controls).
/// </summary>
internal sealed class ServerContext(string issuer)
{
    public string Issuer { get; } = issuer.TrimEnd('/');

    public string TokenEndpoint => Issuer + "/oauth/token";

    public string UrlOf(PathString path) => Issuer + path.Value;
}
