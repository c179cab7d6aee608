using System.Security.Cryptography;
using System.Text.Json;
using Writ.Core.Crypto;

namespace Writ.Core.Tests.Crypto;

public sealed class SigningKeyTests
{
    [Fact]
    public void Generate_KidIsThumbprintAndJwkIsPublicOnly()
    {
        using var key = SigningKey.Generate();
        Assert.Equal(key.Thumbprint, key.KeyId);
        using var doc = JsonDocument.Parse(key.PublicJwk);
        var root = doc.RootElement;
        Assert.Equal("EC", root.GetProperty("kty").GetString());
        Assert.Equal("P-256", root.GetProperty("crv").GetString());
        Assert.Equal(key.KeyId, root.GetProperty("kid").GetString());
        Assert.Equal("sig", root.GetProperty("use").GetString());
        Assert.Equal("ES256", root.GetProperty("alg").GetString());
        Assert.False(root.TryGetProperty("d", out _));
    }

    [Fact]
    public void Pkcs8_RoundTrip_SignsVerifiably()
    {
        using var key = SigningKey.Generate();
        var pkcs8 = key.ExportPkcs8();
        using var loaded = SigningKey.FromPkcs8(key.KeyId, pkcs8);
        Assert.Equal(key.PublicJwk, loaded.PublicJwk);
        var data = "hello"u8.ToArray();
        var sig = loaded.Sign(data);
        Assert.Equal(64, sig.Length);
        Assert.True(key.PublicKey.VerifyData(data, sig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void PublicKey_HoldsNoPrivateKey()
    {
        using var key = SigningKey.Generate();
        Assert.ThrowsAny<CryptographicException>(() => key.PublicKey.ExportParameters(true));
    }

    [Fact]
    public void FromPkcs8_NonP256Key_Throws()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<ArgumentException>(() => SigningKey.FromPkcs8("k", p384.ExportPkcs8PrivateKey()));
    }

    [Fact]
    public void FromPkcs8_Garbage_Throws()
    {
        Assert.ThrowsAny<CryptographicException>(() => SigningKey.FromPkcs8("k", [1, 2, 3]));
    }
}
