using System.Security.Cryptography;
using Writ.Core.Crypto;

namespace Writ.Core.Tests.Crypto;

public sealed class EcJwkTests
{
    private static string B64(byte[] b) => System.Buffers.Text.Base64Url.EncodeToString(b);

    [Fact]
    public void ExportPublic_ThenParse_ImportsTheSameKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var json = EcJwk.ExportPublic(key, "k1", "sig", "ES256");
        Assert.DoesNotContain("\"d\"", json);
        Assert.True(EcJwk.TryParse(json, out var jwk, out var error), error?.ToString());
        using var imported = jwk!.ToECDsa();
        var data = new byte[] { 1, 2, 3 };
        var sig = key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        Assert.True(imported.VerifyData(data, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Parse_JwkWithPrivateD_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(true);
        var json = $"{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{B64(p.Q.X!)}\",\"y\":\"{B64(p.Q.Y!)}\",\"d\":\"{B64(p.D!)}\"}}";
        Assert.False(EcJwk.TryParse(json, out _, out var error));
        Assert.Equal(EcJwk.PrivateKeyCode, error!.Code);
        Assert.DoesNotContain(B64(p.D!), error.Message);
    }

    [Theory]
    [InlineData("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", EcJwk.UnsupportedCode)]
    [InlineData("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}", EcJwk.PrivateKeyCode)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", EcJwk.UnsupportedCode)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", EcJwk.UnsupportedCode)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", EcJwk.InvalidCode)]
    [InlineData("{\"kty\":\"EC\",\"crv\":\"P-256\"}", EcJwk.InvalidCode)]
    [InlineData("{\"kty\":\"EC\",\"kty\":\"EC\",\"crv\":\"P-256\"}", EcJwk.InvalidCode)]
    [InlineData("[]", EcJwk.InvalidCode)]
    [InlineData("not json", EcJwk.InvalidCode)]
    public void Parse_Unacceptable_IsRejected(string json, string code)
    {
        Assert.False(EcJwk.TryParse(json, out var jwk, out var error));
        Assert.Null(jwk);
        Assert.Equal(code, error!.Code);
    }

    [Fact]
    public void Parse_ValidKeyFollowedByTrailingData_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(EcJwk.TryParse(EcJwk.ExportPublic(key) + " {}", out _, out var error));
        Assert.Equal(EcJwk.InvalidCode, error!.Code);
    }

    [Fact]
    public void Parse_PaddedCoordinates_AreRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        var json = $"{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{B64(p.Q.X!)}=\",\"y\":\"{B64(p.Q.Y!)}\"}}";
        Assert.False(EcJwk.TryParse(json, out _, out _));
    }

    [Fact]
    public void ToECDsa_PointNotOnCurve_Throws()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        p.Q.Y![31] ^= 1;
        var json = $"{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{B64(p.Q.X!)}\",\"y\":\"{B64(p.Q.Y)}\"}}";
        Assert.True(EcJwk.TryParse(json, out var jwk, out _));
        Assert.ThrowsAny<CryptographicException>(() => jwk!.ToECDsa());
    }
}
