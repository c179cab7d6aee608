namespace Writ.Server.Auth;

/// <summary>
/// The one environment a standalone gateway serves, when its token was minted for one (<c>writ gateway-token create
/// NAME --environment ENV</c>); null on the server and on a gateway that serves every environment.
/// </summary>
internal sealed class ServedEnvironment
{
    public string? Name { get; set; }
}
