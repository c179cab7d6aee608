using System.Security.Cryptography;

namespace Writ.Core.Crypto;

/// <summary>
/// One of the server's ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4) token signing keys.
/// <see cref="KeyId"/> is the RFC 7638 thumbprint of the public key unless the store says otherwise,
/// so a kid names exactly one key. <see cref="PublicKey"/> is a separate verify-only instance: code
/// that only verifies never holds the private key.
/// </summary>
public sealed class SigningKey : IDisposable
{
    /// <summary>The JWS algorithm every Writ key signs with (RFC 7518 §3.1).</summary>
    public const string Algorithm = "ES256";

    /// <summary>An ES256 signature is r‖s, 32 bytes each (RFC 7518 §3.4).</summary>
    public const int SignatureLength = 64;

    private readonly ECDsa _key;

    private SigningKey(string keyId, ECDsa key)
    {
        var parameters = key.ExportParameters(false);
        if (EcJwk.CurveName(parameters.Curve) != "P-256") throw new ArgumentException("a Writ signing key must be on P-256");
        KeyId = keyId;
        _key = key;
        PublicKey = ECDsa.Create(parameters);
        PublicJwk = EcJwk.ExportPublic(parameters, keyId, "sig", Algorithm);
        Thumbprint = JwkThumbprint.Compute(parameters);
    }

    public string KeyId { get; }

    /// <summary>Verify-only copy of the public key, for <c>AccessTokenValidator</c>'s kid lookup.</summary>
    public ECDsa PublicKey { get; }

    /// <summary>The public JWK with <c>kid</c>, <c>use: sig</c>, <c>alg: ES256</c>, ready for a JWKS (RFC 7517 §5).</summary>
    public string PublicJwk { get; }

    /// <summary>RFC 7638 thumbprint of the public key.</summary>
    public string Thumbprint { get; }

    /// <summary>A new random P-256 key whose kid is its RFC 7638 thumbprint.</summary>
    public static SigningKey Generate()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            return new SigningKey(JwkThumbprint.Compute(key.ExportParameters(false)), key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Loads a key from its PKCS#8 DER bytes (as produced by <see cref="ExportPkcs8"/>).</summary>
    /// <exception cref="CryptographicException">The bytes are not a PKCS#8 EC private key.</exception>
    public static SigningKey FromPkcs8(string kid, byte[] pkcs8)
    {
        ArgumentException.ThrowIfNullOrEmpty(kid);
        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out var read);
            if (read != pkcs8.Length) throw new CryptographicException("trailing data after the PKCS#8 key");
            return new SigningKey(kid, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The private key as PKCS#8 DER. The caller seals it (MasterKey) and zeroes the array.</summary>
    public byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    /// <summary>ES256 signature of <paramref name="data"/> in JWS form (IEEE P1363 r‖s, 64 bytes).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) =>
        _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>Signs into <paramref name="destination"/> (at least <see cref="SignatureLength"/> bytes); returns the bytes written.</summary>
    public int Sign(ReadOnlySpan<byte> data, Span<byte> destination) =>
        _key.SignData(data, destination, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    private byte[]? _accessTokenHeader;

    /// <summary>The serialised <c>{"alg":"ES256","typ":"at+jwt","kid":…}</c> header, built once per key.</summary>
    internal byte[] AccessTokenHeader => _accessTokenHeader ??= BuildHeader(Tokens.AccessTokenClaims.TokenType);

    private byte[] BuildHeader(string typ)
    {
        Span<byte> buffer = stackalloc byte[256];
        var n = Tokens.Jwt.WriteHeader(buffer, typ, KeyId);
        return buffer[..n].ToArray();
    }

    public void Dispose()
    {
        _key.Dispose();
        PublicKey.Dispose();
    }
}
