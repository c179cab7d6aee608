using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Writ.Core.Crypto;
using Writ.Core.Tokens;

namespace Writ.Benchmarks;

/// <summary>
/// Token issuance, token validation and DPoP proof validation: each runs on every credential request
/// or gateway call. Floors are the bare ECDSA P-256 operation each one cannot avoid (one sign, one
/// verify), over input of the same size, so the ratio shows what parsing and checks add.
/// Run: <c>dotnet run -c Release --project bench/Writ.Benchmarks -- --filter '*TokenBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class TokenBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private SigningKey _key = null!;
    private AccessTokenClaims _claims = null!;
    private AccessTokenValidator _tokenValidator = null!;
    private DpopProofValidator _proofValidator = null!;
    private string _token = null!;
    private string _proof = null!;
    private ECDsa _agentKey = null!;
    private byte[] _signingInput = null!;
    private byte[] _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        var clock = new FixedClock(Now);
        _key = SigningKey.Generate();
        _agentKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jkt = JwkThumbprint.Compute(_agentKey);
        _claims = new AccessTokenClaims(
            "https://writ.example", "support-bot@staging", "crm", "crm:read crm:write", "staging", "task_3qf0a9b1c2d3e4f5", "customers/12345",
            "jti_" + new string('x', 16), Now, Now.AddMinutes(5), jkt, "support-bot@staging", "alice@example.com", ["no-delete", "no-bulk"], 7);
        _token = AccessTokenIssuer.Issue(_claims, _key);
        _tokenValidator = new AccessTokenValidator(kid => kid == _key.KeyId ? _key.PublicKey : null, clock, "https://writ.example", TimeSpan.FromSeconds(30));

        // A proof as Writ.Client makes it (the bench references Writ.Core only, so it is built here).
        var p = _agentKey.ExportParameters(false);
        var header = "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + B64(p.Q.X!) + "\",\"y\":\"" + B64(p.Q.Y!) + "\"}}";
        var payload = "{\"jti\":\"" + B64(RandomNumberGenerator.GetBytes(16)) + "\",\"htm\":\"GET\",\"htu\":\"https://gw.example/crm/customers/12345\",\"iat\":"
            + Now.ToUnixTimeSeconds() + ",\"ath\":\"" + B64(SHA256.HashData(Encoding.ASCII.GetBytes(_token))) + "\"}";
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(payload));
        _proof = input + "." + B64(_agentKey.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        // The same proof is validated on every iteration, so the replay cache is replaced by one that always admits.
        _proofValidator = new DpopProofValidator(new AdmitAll(), clock, new DpopOptions());

        _signingInput = Encoding.ASCII.GetBytes(_token[.._token.LastIndexOf('.')]);
        _signature = _key.Sign(_signingInput);
        if (!_tokenValidator.Validate(_token, "crm").IsSuccess) throw new InvalidOperationException("token setup");
        if (!_proofValidator.Validate(_proof, "GET", "https://gw.example/crm/customers/12345?page=2", _token).IsSuccess) throw new InvalidOperationException("proof setup");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        _agentKey.Dispose();
    }

    [Benchmark(Description = "floor: ECDSA P-256 sign")]
    public byte[] FloorSign() => _key.Sign(_signingInput);

    [Benchmark(Description = "issue access token")]
    public string IssueToken() => AccessTokenIssuer.Issue(_claims, _key);

    [Benchmark(Description = "floor: ECDSA P-256 verify")]
    public bool FloorVerify() => _key.PublicKey.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    [Benchmark(Description = "validate access token")]
    public bool ValidateToken() => _tokenValidator.Validate(_token, "crm").IsSuccess;

    [Benchmark(Description = "validate DPoP proof (with ath)")]
    public bool ValidateProof() => _proofValidator.Validate(_proof, "GET", "https://gw.example/crm/customers/12345?page=2", _token).IsSuccess;

    private static string B64(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class AdmitAll : IDpopReplayCache
    {
        public bool TryAdd(string key, DateTimeOffset expiresAt) => true;
    }
}
