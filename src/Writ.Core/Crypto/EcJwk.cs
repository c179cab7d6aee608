using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Writ.Core.Common;

namespace Writ.Core.Crypto;

/// <summary>
/// A validated public EC P-256 JWK (RFC 7517 §4, RFC 7518 §6.2.1): <c>kty</c> EC, <c>crv</c> P-256,
/// <c>x</c> and <c>y</c> each 32 bytes, base64url. Built only by <see cref="EcJwk"/>, so holding one
/// means those checks passed.
/// </summary>
public sealed record EcPublicJwk
{
    internal EcPublicJwk(string x, string y, byte[] xBytes, byte[] yBytes)
    {
        X = x;
        Y = y;
        XBytes = xBytes;
        YBytes = yBytes;
    }

    public string Crv => "P-256";

    public string X { get; }

    public string Y { get; }

    internal byte[] XBytes { get; }

    internal byte[] YBytes { get; }

    /// <summary>RFC 7638 thumbprint (the <c>jkt</c>).</summary>
    public string Thumbprint => _thumbprint ??= JwkThumbprint.Compute("P-256", X, Y);

    private string? _thumbprint;

    /// <summary>The public key as canonical-order JSON <c>{"crv":"P-256","kty":"EC","x":…,"y":…}</c>.</summary>
    public string ToJson() => "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + X + "\",\"y\":\"" + Y + "\"}";

    public ECParameters ToParameters() => new()
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = XBytes, Y = YBytes },
    };

    /// <summary>A verify-only ECDsa for this key. Throws <see cref="CryptographicException"/> when the point is not on the curve.</summary>
    public ECDsa ToECDsa() => ECDsa.Create(ToParameters());
}

/// <summary>Export and strict parsing of EC public JWKs. Only P-256 is accepted: Writ signs and verifies ES256 only.</summary>
public static class EcJwk
{
    /// <summary>Error codes from <see cref="TryParse(string, out EcPublicJwk?, out Error?)"/>.</summary>
    public const string InvalidCode = "jwk.invalid";

    /// <summary>The JWK carries private material (<c>d</c>, or RSA/oct fields): refused so a leaked private key is never stored or echoed.</summary>
    public const string PrivateKeyCode = "jwk.private_key";

    public const string UnsupportedCode = "jwk.unsupported";

    private const int CoordinateBytes = 32;

    /// <summary>The RFC 7518 §6.2.1.1 curve name of <paramref name="curve"/>, or null for a curve JOSE does not name.</summary>
    public static string? CurveName(ECCurve curve)
    {
        if (!curve.IsNamed) return null;
        var oid = curve.Oid.Value;
        return oid switch
        {
            "1.2.840.10045.3.1.7" => "P-256",
            "1.3.132.0.34" => "P-384",
            "1.3.132.0.35" => "P-521",
            _ => curve.Oid.FriendlyName switch
            {
                "nistP256" or "ECDSA_P256" or "prime256v1" or "secp256r1" => "P-256",
                "nistP384" or "ECDSA_P384" or "secp384r1" => "P-384",
                "nistP521" or "ECDSA_P521" or "secp521r1" => "P-521",
                _ => null,
            },
        };
    }

    /// <summary>
    /// The public half of <paramref name="key"/> as a JWK JSON object: <c>kty</c>, <c>crv</c>, <c>x</c>,
    /// <c>y</c>, then <c>kid</c>, <c>use</c>, <c>alg</c> when given. Never includes <c>d</c>.
    /// </summary>
    public static string ExportPublic(ECDsa key, string? kid = null, string? use = null, string? alg = null) =>
        ExportPublic(key.ExportParameters(false), kid, use, alg);

    /// <inheritdoc cref="ExportPublic(ECDsa, string?, string?, string?)"/>
    public static string ExportPublic(ECParameters parameters, string? kid = null, string? use = null, string? alg = null)
    {
        var crv = CurveName(parameters.Curve) ?? throw new ArgumentException("only P-256, P-384 and P-521 keys can be exported as JWK", nameof(parameters));
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("kty"u8, "EC"u8);
            writer.WriteString("crv"u8, crv);
            writer.WriteString("x"u8, System.Buffers.Text.Base64Url.EncodeToString(parameters.Q.X));
            writer.WriteString("y"u8, System.Buffers.Text.Base64Url.EncodeToString(parameters.Q.Y));
            if (kid is not null) writer.WriteString("kid"u8, kid);
            if (use is not null) writer.WriteString("use"u8, use);
            if (alg is not null) writer.WriteString("alg"u8, alg);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses a public EC P-256 JWK from JSON text. Refuses other key types and curves, bad coordinates, and any private member.</summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out EcPublicJwk? jwk, [NotNullWhen(false)] out Error? error)
    {
        jwk = null;
        if (string.IsNullOrEmpty(json) || json.Length > 4096)
        {
            error = new Error(InvalidCode, "the JWK is empty or too long");
            return false;
        }
        var max = Encoding.UTF8.GetMaxByteCount(json.Length);
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var n = Encoding.UTF8.GetBytes(json, rented);
            var reader = new Utf8JsonReader(rented.AsSpan(0, n), new JsonReaderOptions { MaxDepth = 4 });
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    error = new Error(InvalidCode, "the JWK is not a JSON object");
                    return false;
                }
                if (!TryRead(ref reader, out jwk, out error)) return false;
                if (reader.Read())
                {
                    jwk = null;
                    error = new Error(InvalidCode, "unexpected data after the JWK");
                    return false;
                }
                return true;
            }
            catch (JsonException)
            {
                jwk = null;
                error = new Error(InvalidCode, "the JWK is not valid JSON");
                return false;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Parses a public EC P-256 JWK from a <see cref="JsonElement"/> object (e.g. a JWKS entry).</summary>
    public static bool TryParse(JsonElement element, [NotNullWhen(true)] out EcPublicJwk? jwk, [NotNullWhen(false)] out Error? error) =>
        TryParse(element.GetRawText(), out jwk, out error);

    /// <summary>Parses and imports in one step. Throws <see cref="FormatException"/> with the parse error, <see cref="CryptographicException"/> for a point not on P-256.</summary>
    public static ECDsa ImportPublic(string json)
    {
        if (!TryParse(json, out var jwk, out var error)) throw new FormatException(error!.Message);
        return jwk!.ToECDsa();
    }

    /// <summary>
    /// Reads a JWK object whose <see cref="JsonTokenType.StartObject"/> the reader is positioned on; leaves
    /// the reader on its <see cref="JsonTokenType.EndObject"/>. Duplicate members are refused (RFC 7517 §4).
    /// </summary>
    internal static bool TryRead(ref Utf8JsonReader reader, [NotNullWhen(true)] out EcPublicJwk? jwk, [NotNullWhen(false)] out Error? error)
    {
        jwk = null;
        string? kty = null, crv = null, x = null, y = null;
        var hasPrivate = false;
        var seen = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                error = new Error(InvalidCode, "the JWK is malformed");
                return false;
            }
            var bit = reader.ValueTextEquals("kty"u8) ? 1
                : reader.ValueTextEquals("crv"u8) ? 2
                : reader.ValueTextEquals("x"u8) ? 4
                : reader.ValueTextEquals("y"u8) ? 8
                : 0;
            // RFC 7518 §6.2.2 (d) and §6.3.2 (RSA private members), §6.4.1 (k): private material of any key type.
            var isPrivate = reader.ValueTextEquals("d"u8) || reader.ValueTextEquals("p"u8) || reader.ValueTextEquals("q"u8)
                || reader.ValueTextEquals("dp"u8) || reader.ValueTextEquals("dq"u8) || reader.ValueTextEquals("qi"u8)
                || reader.ValueTextEquals("oth"u8) || reader.ValueTextEquals("k"u8);
            if (bit != 0 && (seen & bit) != 0)
            {
                error = new Error(InvalidCode, "the JWK repeats a member");
                return false;
            }
            seen |= bit;
            reader.Read();
            if (isPrivate)
            {
                hasPrivate = true;
                reader.Skip();
                continue;
            }
            if (bit == 0)
            {
                reader.Skip();
                continue;
            }
            if (reader.TokenType != JsonTokenType.String)
            {
                error = new Error(InvalidCode, "JWK members kty, crv, x and y must be strings");
                return false;
            }
            if (!JsonText.TryGetString(ref reader, out var value))
            {
                error = new Error(InvalidCode, "JWK members kty, crv, x and y must be valid Unicode strings");
                return false;
            }
            switch (bit)
            {
                case 1: kty = value; break;
                case 2: crv = value; break;
                case 4: x = value; break;
                default: y = value; break;
            }
        }
        if (hasPrivate)
        {
            error = new Error(PrivateKeyCode, "the JWK contains private key material; send only the public key");
            return false;
        }
        if (kty != "EC")
        {
            error = new Error(UnsupportedCode, "only EC keys (kty EC, crv P-256) are accepted");
            return false;
        }
        if (crv != "P-256")
        {
            error = new Error(UnsupportedCode, "only the P-256 curve is accepted");
            return false;
        }
        if (x is null || y is null)
        {
            error = new Error(InvalidCode, "the JWK lacks x or y");
            return false;
        }
        var xBytes = new byte[CoordinateBytes];
        var yBytes = new byte[CoordinateBytes];
        if (x.Length != 43 || y.Length != 43
            || !Jose.TryDecode(x, xBytes, out var xn) || xn != CoordinateBytes
            || !Jose.TryDecode(y, yBytes, out var yn) || yn != CoordinateBytes)
        {
            error = new Error(InvalidCode, "x and y must each be 32 bytes, base64url without padding");
            return false;
        }
        jwk = new EcPublicJwk(x, y, xBytes, yBytes);
        error = null;
        return true;
    }
}
