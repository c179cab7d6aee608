using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Writ.Core.Common;
using Writ.Core.Crypto;

namespace Writ.Core.Tokens;

/// <summary>
/// Compact JWS (RFC 7515 §7.1) with exactly one algorithm, ES256. Creation writes
/// <c>{"alg":"ES256","typ":…,"kid":…}</c>; parsing is strict: three base64url parts, a JSON object
/// header without duplicate members (RFC 7515 §4), <c>alg</c> exactly <c>ES256</c> — so
/// <c>none</c>, HS256 keyed with a public key, RS256 and friends never reach a verifier
/// (RFC 8725 §3.1, §3.2) — no <c>crit</c> (RFC 7515 §4.1.11: we understand no extension), and a
/// 64-byte signature.
/// </summary>
public static class Jwt
{
    /// <summary>Longest compact JWT accepted, in characters. Writ's tokens are well under 2 KB.</summary>
    public const int MaxLength = 8192;

    private const int MaxHeaderChars = 2048;

    /// <summary>Signs <paramref name="payloadUtf8"/> (a JSON object) with <paramref name="key"/>; header carries <paramref name="typ"/> and the key's kid.</summary>
    public static string Create(SigningKey key, string typ, ReadOnlySpan<byte> payloadUtf8)
    {
        Span<byte> header = stackalloc byte[256];
        var headerLength = WriteHeader(header, typ, key.KeyId);
        return Create(key, header[..headerLength], payloadUtf8);
    }

    /// <summary>Signs with a pre-serialised header (JSON object bytes). Used where the header is cached.</summary>
    internal static string Create(SigningKey key, ReadOnlySpan<byte> headerUtf8, ReadOnlySpan<byte> payloadUtf8)
    {
        var h = Jose.EncodedLength(headerUtf8.Length);
        var p = Jose.EncodedLength(payloadUtf8.Length);
        var s = Jose.EncodedLength(SigningKey.SignatureLength);
        var total = h + 1 + p + 1 + s;
        var rented = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var buffer = rented.AsSpan(0, total);
            System.Buffers.Text.Base64Url.EncodeToUtf8(headerUtf8, buffer);
            buffer[h] = (byte)'.';
            System.Buffers.Text.Base64Url.EncodeToUtf8(payloadUtf8, buffer[(h + 1)..]);
            var signingInputLength = h + 1 + p;
            Span<byte> signature = stackalloc byte[SigningKey.SignatureLength];
            var written = key.Sign(buffer[..signingInputLength], signature);
            if (written != SigningKey.SignatureLength) throw new CryptographicException("unexpected ES256 signature length");
            buffer[signingInputLength] = (byte)'.';
            System.Buffers.Text.Base64Url.EncodeToUtf8(signature, buffer[(signingInputLength + 1)..]);
            return Encoding.ASCII.GetString(buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    internal static int WriteHeader(Span<byte> destination, string typ, string kid)
    {
        var writer = new SpanJsonWriter(destination);
        writer.Raw("{\"alg\":\"ES256\",\"typ\":\""u8);
        writer.Plain(typ);
        writer.Raw("\",\"kid\":\""u8);
        writer.Plain(kid);
        writer.Raw("\"}"u8);
        return writer.Length;
    }

    /// <summary>
    /// Parses <paramref name="compact"/> strictly; does NOT verify the signature (call
    /// <see cref="ParsedJwt.VerifySignature"/>). Codes: <c>jwt.invalid</c>, <c>jwt.unsupported_alg</c>.
    /// </summary>
    public static bool TryParse(string compact, [MaybeNullWhen(false)] out ParsedJwt jwt, [MaybeNullWhen(true)] out Error error) =>
        TryParse(compact, "jwt", MaxLength, out jwt, out error);

    /// <summary>As <see cref="TryParse(string, out ParsedJwt, out Error)"/> with error codes under <paramref name="codePrefix"/> (<c>token</c>, <c>dpop</c>, …).</summary>
    internal static bool TryParse(string compact, string codePrefix, int maxLength, [MaybeNullWhen(false)] out ParsedJwt jwt, [MaybeNullWhen(true)] out Error error)
    {
        jwt = null!;
        if (string.IsNullOrEmpty(compact))
        {
            error = Invalid(codePrefix, "the JWT is empty");
            return false;
        }
        if (compact.Length > maxLength)
        {
            error = Invalid(codePrefix, "the JWT is too long");
            return false;
        }
        var span = compact.AsSpan();
        var first = span.IndexOf('.');
        var last = span.LastIndexOf('.');
        if (first <= 0 || last == first || span[(first + 1)..last].Contains('.'))
        {
            error = Invalid(codePrefix, "a JWT has exactly three dot-separated parts (compact JWS)");
            return false;
        }
        var headerText = span[..first];
        var payloadText = span[(first + 1)..last];
        var signatureText = span[(last + 1)..];
        if (headerText.Length > MaxHeaderChars || payloadText.Length == 0)
        {
            error = Invalid(codePrefix, "the JWT header is too long or the payload is empty");
            return false;
        }

        Span<byte> headerBytes = stackalloc byte[MaxHeaderChars * 3 / 4 + 3];
        if (!Jose.TryDecode(headerText, headerBytes, out var headerLength))
        {
            error = Invalid(codePrefix, "the JWT header is not base64url");
            return false;
        }
        if (!TryReadHeader(headerBytes[..headerLength], codePrefix, out var header, out error)) return false;

        // The alg check comes before anything is decoded further (RFC 8725 §3.1).
        if (header.Alg != SigningKey.Algorithm)
        {
            error = new Error(codePrefix + ".unsupported_alg", "only ES256 signatures are accepted");
            return false;
        }

        var signature = new byte[SigningKey.SignatureLength];
        if (signatureText.Length != Jose.EncodedLength(SigningKey.SignatureLength)
            || !Jose.TryDecode(signatureText, signature, out var signatureLength) || signatureLength != SigningKey.SignatureLength)
        {
            error = Invalid(codePrefix, "an ES256 signature is 64 bytes, base64url");
            return false;
        }

        var payloadBytes = Jose.Decode(payloadText);
        if (payloadBytes is null)
        {
            error = Invalid(codePrefix, "the JWT payload is not base64url");
            return false;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payloadBytes, PayloadOptions);
        }
        catch (JsonException)
        {
            error = Invalid(codePrefix, "the JWT payload is not JSON, or repeats a claim");
            return false;
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            error = Invalid(codePrefix, "the JWT payload is not a JSON object");
            return false;
        }
        // Checked once here, so no claim read later can throw on it (every reader of a payload trusts these strings).
        if (JsonText.HasUnreadableString(payloadBytes))
        {
            document.Dispose();
            error = Invalid(codePrefix, "the JWT payload has a string that is not valid Unicode (a lone surrogate or bytes that are not UTF-8)");
            return false;
        }

        jwt = new ParsedJwt(compact, last, header, document, signature);
        error = null!;
        return true;
    }

    private static readonly JsonDocumentOptions PayloadOptions = new() { MaxDepth = 8, AllowDuplicateProperties = false };

    private static Error Invalid(string prefix, string message) => new(prefix + ".invalid", message);

    private static bool TryReadHeader(ReadOnlySpan<byte> json, string prefix, out JwtHeader header, out Error error)
    {
        header = default;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4 });
        string? alg = null, typ = null, kid = null;
        EcPublicJwk? jwk = null;
        var seen = 0;
        var names = (HashSet<string>?)null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = Invalid(prefix, "the JWT header is not a JSON object");
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var bit = reader.ValueTextEquals("alg"u8) ? 1
                    : reader.ValueTextEquals("typ"u8) ? 2
                    : reader.ValueTextEquals("kid"u8) ? 4
                    : reader.ValueTextEquals("jwk"u8) ? 8
                    : reader.ValueTextEquals("crit"u8) ? 16
                    : 0;
                if (bit == 0)
                {
                    // RFC 7515 §4: header parameter names must be unique, known or not.
                    names ??= new HashSet<string>(StringComparer.Ordinal);
                    if (!names.Add(reader.GetString()!))
                    {
                        error = Invalid(prefix, "the JWT header repeats a parameter");
                        return false;
                    }
                    reader.Read();
                    reader.Skip();
                    continue;
                }
                if ((seen & bit) != 0)
                {
                    error = Invalid(prefix, "the JWT header repeats a parameter");
                    return false;
                }
                seen |= bit;
                reader.Read();
                switch (bit)
                {
                    case 16:
                        error = Invalid(prefix, "the JWT header lists critical extensions (crit), which Writ does not support");
                        return false;
                    case 8:
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            error = Invalid(prefix, "the jwk header parameter is not a JSON object");
                            return false;
                        }
                        if (!EcJwk.TryRead(ref reader, out jwk, out var jwkError))
                        {
                            error = Invalid(prefix, "the jwk header parameter is not an acceptable public key: " + jwkError!.Message);
                            return false;
                        }
                        break;
                    default:
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            error = Invalid(prefix, "alg, typ and kid must be strings");
                            return false;
                        }
                        var value = reader.GetString();
                        if (bit == 1) alg = value;
                        else if (bit == 2) typ = value;
                        else kid = value;
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                error = Invalid(prefix, "the JWT header is malformed");
                return false;
            }
        }
        catch (JsonException)
        {
            error = Invalid(prefix, "the JWT header is not valid JSON");
            return false;
        }
        catch (InvalidOperationException)
        {
            error = Invalid(prefix, "the JWT header is not valid JSON");
            return false;
        }
        if (alg is null)
        {
            error = Invalid(prefix, "the JWT header has no alg");
            return false;
        }
        header = new JwtHeader(alg, typ, kid, jwk);
        error = null!;
        return true;
    }

    /// <summary>Writes ASCII into a fixed span; for headers whose values are known to need no escaping.</summary>
    private ref struct SpanJsonWriter(Span<byte> destination)
    {
        private readonly Span<byte> _destination = destination;

        public int Length { get; private set; }

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_destination[Length..]);
            Length += bytes.Length;
        }

        public void Plain(string value)
        {
            foreach (var c in value)
            {
                if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') throw new ArgumentException("JWT header values must be printable ASCII without quotes or backslashes");
            }
            Length += Encoding.ASCII.GetBytes(value, _destination[Length..]);
        }
    }
}

/// <summary>The JOSE header members Writ reads (RFC 7515 §4.1).</summary>
public readonly record struct JwtHeader(string Alg, string? Typ, string? Kid, EcPublicJwk? Jwk);

/// <summary>
/// A JWT that passed <see cref="Jwt.TryParse(string, out ParsedJwt, out Error)"/>: its header, its
/// payload as a <see cref="JsonElement"/>, and what a verifier needs. The signature is not yet checked.
/// Dispose returns the payload document's pooled buffers.
/// </summary>
public sealed class ParsedJwt : IDisposable
{
    private readonly string _compact;
    private readonly int _signingInputLength;
    private readonly JsonDocument _payload;
    private readonly byte[] _signature;

    internal ParsedJwt(string compact, int signingInputLength, JwtHeader header, JsonDocument payload, byte[] signature)
    {
        _compact = compact;
        _signingInputLength = signingInputLength;
        Header = header;
        _payload = payload;
        _signature = signature;
    }

    public JwtHeader Header { get; }

    public string Algorithm => Header.Alg;

    public string? Type => Header.Typ;

    public string? KeyId => Header.Kid;

    /// <summary>The validated public JWK from the header (DPoP, RFC 9449 §4.2), if any.</summary>
    public EcPublicJwk? Jwk => Header.Jwk;

    public JsonElement Payload => _payload.RootElement;

    /// <summary>ASCII(BASE64URL(header) '.' BASE64URL(payload)) — what the signature covers (RFC 7515 §5.1).</summary>
    public ReadOnlySpan<char> SigningInput => _compact.AsSpan(0, _signingInputLength);

    public ReadOnlySpan<byte> Signature => _signature;

    /// <summary>Verifies the ES256 signature (RFC 7518 §3.4) with <paramref name="key"/>.</summary>
    public bool VerifySignature(ECDsa key)
    {
        byte[]? rented = null;
        Span<byte> input = _signingInputLength <= 2048 ? stackalloc byte[2048] : (rented = ArrayPool<byte>.Shared.Rent(_signingInputLength));
        try
        {
            // Every char was checked to be base64url or '.', so this is a 1:1 ASCII copy.
            var n = Encoding.ASCII.GetBytes(SigningInput, input);
            return key.VerifyData(input[..n], _signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public void Dispose() => _payload.Dispose();
}
