using System.Net;
using Writ.Client.Http;
using Writ.Client.Keys;
using Writ.Core.Tokens;

namespace Writ.Core.Tests.Tokens;

/// <summary>
/// <see cref="DpopCredentialHandler.SignAhead"/>: proofs signed before they are needed must still pass the server's
/// checks one by one (RFC 9449 §4.3, §11.1): fresh, single use, for this URL, method and token.
/// </summary>
public sealed class DpopCredentialHandlerTests : IDisposable
{
    private static readonly Uri Mcp = new("https://writ.example/mcp/files");
    private readonly TestClock _clock = TestClock.At2026();
    private readonly AgentKeyPair _agent = AgentKeyPair.Generate("support-bot@staging", "https://writ.example");
    private readonly Recorder _recorder = new();
    private readonly DpopProofValidator _validator;
    private string _token = "token-one";

    public DpopCredentialHandlerTests() => _validator = new DpopProofValidator(new MemoryDpopReplayCache(_clock), _clock, new DpopOptions());

    public void Dispose() => _agent.Dispose();

    private HttpClient Client(bool signAhead = true)
    {
        var client = new WritAgentClient(new HttpClient(), new Uri("https://writ.example/"), "support-bot@staging", _agent, _clock);
        var handler = new DpopCredentialHandler(client, _ => Task.FromResult(new Credential(_token, "files:read", "task_1", "staging", null, _clock.Now.AddHours(1))), _recorder)
        {
            SignAhead = signAhead ? (HttpMethod.Post, Mcp) : null,
        };
        return new HttpClient(handler);
    }

    private async Task<(string Proof, string Token)> PostAsync(HttpClient http, Uri? uri = null)
    {
        using var response = await http.PostAsync(uri ?? Mcp, new StringContent("{}"));
        return _recorder.Last;
    }

    private void AssertAccepted(string proof, string token, string url = "https://writ.example/mcp/files", string method = "POST")
    {
        var result = _validator.Validate(proof, method, url, token);
        Assert.True(result.IsSuccess, result.Error?.ToString());
    }

    [Fact]
    public async Task SignAhead_EveryRequest_GetsItsOwnProofThatTheServerAccepts()
    {
        using var http = Client();
        var proofs = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var (proof, token) = await PostAsync(http);
            Assert.Equal("token-one", token);
            AssertAccepted(proof, token); // the replay cache refuses a proof seen before
            proofs.Add(proof);
        }
        Assert.Equal(proofs.Count, proofs.Distinct().Count());
    }

    [Fact]
    public async Task SignAhead_ProofOlderThanItsMaxAge_IsNotUsed()
    {
        using var http = Client();
        await PostAsync(http);
        _clock.Advance(DpopCredentialHandler.SignedAheadMaxAge + TimeSpan.FromSeconds(1));

        var (proof, token) = await PostAsync(http);

        Assert.Equal(_clock.Now, _validator.Validate(proof, "POST", Mcp.ToString(), token).Value.IssuedAt);
    }

    [Fact]
    public async Task SignAhead_AfterTheTokenChanged_SignsForTheNewToken()
    {
        using var http = Client();
        await PostAsync(http);
        _token = "token-two";

        var (proof, token) = await PostAsync(http);

        Assert.Equal("token-two", token);
        AssertAccepted(proof, "token-two"); // ath is the new token's hash
    }

    [Fact]
    public async Task SignAhead_OtherUrlOrMethod_GetsAProofForItself()
    {
        using var http = Client();
        await PostAsync(http);

        var (other, token) = await PostAsync(http, new Uri("https://writ.example/mcp/crm"));
        AssertAccepted(other, token, "https://writ.example/mcp/crm");
        using (await http.DeleteAsync(Mcp))
        {
        }
        AssertAccepted(_recorder.Last.Proof, token, method: "DELETE");
        var (next, _) = await PostAsync(http);
        AssertAccepted(next, token);
    }

    [Fact]
    public async Task WithoutSignAhead_EachProofIsSignedForItsRequest()
    {
        using var http = Client(signAhead: false);
        for (var i = 0; i < 3; i++)
        {
            var (proof, token) = await PostAsync(http);
            AssertAccepted(proof, token);
        }
    }

    /// <summary>Answers 200 and keeps the last request's DPoP proof and access token.</summary>
    private sealed class Recorder : HttpMessageHandler
    {
        public (string Proof, string Token) Last { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Last = (request.Headers.GetValues("DPoP").Single(), request.Headers.Authorization!.Parameter!);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}
