using System.Security.Cryptography;
using System.Text;
using Writ.Core.Crypto;

namespace Writ.Core.Tests.Tokens;

public sealed class JwkThumbprintTests
{
    [Fact]
    public void CanonicalRule_ReproducesRfc7638Section3_1Example()
    {
        // RFC 7638 §3.1: the example is an RSA key; its canonical JSON (required members, sorted, no
        // whitespace) hashes to the published thumbprint. Our EC canonical form follows the same rule.
        const string n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        var canonical = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"" + n + "\"}";
        var thumbprint = System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        Assert.Equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", thumbprint);

        var msJwk = new Microsoft.IdentityModel.Tokens.JsonWebKey("{\"kty\":\"RSA\",\"n\":\"" + n + "\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
        Assert.Equal(thumbprint, System.Buffers.Text.Base64Url.EncodeToString(msJwk.ComputeJwkThumbprint()));
    }

    [Fact]
    public void Compute_Rfc9449ExampleKey_GivesPublishedJkt()
    {
        // RFC 9449 §4.1 example proof key; §6.1 shows its jkt.
        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
            JwkThumbprint.Compute("P-256", "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs", "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"));
    }

    [Fact]
    public void Compute_RandomKeys_MatchMicrosoftIdentityModel()
    {
        for (var i = 0; i < 20; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var ours = JwkThumbprint.Compute(key.ExportParameters(false));
            var ms = new Microsoft.IdentityModel.Tokens.JsonWebKey(EcJwk.ExportPublic(key, kid: "k", use: "sig", alg: "ES256"));
            Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(ms.ComputeJwkThumbprint()), ours);
        }
    }

    [Fact]
    public void Compute_IgnoresOptionalMembers()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(EcJwk.TryParse(EcJwk.ExportPublic(key, "kid-1", "sig", "ES256"), out var withExtras, out _));
        Assert.True(EcJwk.TryParse(EcJwk.ExportPublic(key), out var plain, out _));
        Assert.Equal(plain!.Thumbprint, withExtras!.Thumbprint);
        Assert.Equal(JwkThumbprint.Compute(key), plain.Thumbprint);
    }

    [Fact]
    public void Compute_WithCharactersNeedingEscapes_Throws()
    {
        Assert.Throws<ArgumentException>(() => JwkThumbprint.Compute("P-256", "a\"b", "c"));
    }
}
