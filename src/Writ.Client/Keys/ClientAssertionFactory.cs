using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Writ.Client.Keys;

/// <summary>
/// RFC 7523 §2.2 client assertions for <c>private_key_jwt</c> client authentication: <c>iss</c> =
/// <c>sub</c> = client id, <c>aud</c> = the token endpoint, a random <c>jti</c>, <c>iat</c>, and
/// <c>exp</c> 60 s later. The header <c>kid</c> is the key's RFC 7638 thumbprint, so a server with
/// several keys for a client knows which one to try.
/// </summary>
public static class ClientAssertionFactory
{
    /// <summary>The <c>client_assertion_type</c> form value to send with it (RFC 7523 §2.2).</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    public static string Create(AgentKeyPair key, string clientId, string audience, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        var now = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();

        var header = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteString("alg"u8, "ES256"u8);
            writer.WriteString("typ"u8, "JWT"u8);
            writer.WriteString("kid"u8, key.Thumbprint);
            writer.WriteEndObject();
        }
        var payload = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(payload))
        {
            writer.WriteStartObject();
            writer.WriteString("iss"u8, clientId);
            writer.WriteString("sub"u8, clientId);
            writer.WriteString("aud"u8, audience);
            writer.WriteString("jti"u8, ClientJose.NewJti());
            writer.WriteNumber("iat"u8, now);
            writer.WriteNumber("exp"u8, now + (long)Lifetime.TotalSeconds);
            writer.WriteEndObject();
        }
        return ClientJose.Sign(key.Key, ClientJose.Base64Url(header.WrittenSpan), payload.WrittenSpan);
    }
}
