using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Writ.Client.Keys;

/// <summary>
/// Makes DPoP proofs (RFC 9449 §4.2): header <c>{"typ":"dpop+jwt","alg":"ES256","jwk":…}</c>, payload
/// <c>jti</c> (random, 128 bit), <c>htm</c>, <c>htu</c> (the URI without query and fragment), <c>iat</c>,
/// and <c>ath</c> when the proof accompanies an access token (§7.1). A proof is single use: make one per request.
/// </summary>
public sealed class DpopProofFactory(AgentKeyPair key, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private readonly string _encodedHeader = ClientJose.Base64Url(Encoding.ASCII.GetBytes(
        "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":" + key.PublicJwk + "}"));

    public string Create(string method, Uri uri, string? accessToken = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri) throw new ArgumentException("a DPoP proof needs an absolute URI", nameof(uri));
        var htu = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jti"u8, ClientJose.NewJti());
            writer.WriteString("htm"u8, method);
            writer.WriteString("htu"u8, htu);
            writer.WriteNumber("iat"u8, _clock.GetUtcNow().ToUnixTimeSeconds());
            if (accessToken is not null) writer.WriteString("ath"u8, ClientJose.AccessTokenHash(accessToken));
            writer.WriteEndObject();
        }
        return ClientJose.Sign(key.Key, _encodedHeader, buffer.WrittenSpan);
    }
}
