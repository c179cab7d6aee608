using System.Net;
using System.Text;
using Writ.Client.Contracts;
using Writ.Client.Http;

namespace Writ.Server.Tests;

/// <summary>Whatever a server (or something else at its address) answers, the client throws <see cref="WritApiException"/>, never a parser's exception.</summary>
public sealed class WritJsonTests
{
    private static HttpResponseMessage Answer(HttpStatusCode status, string body, string type = "application/json") =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, type), ReasonPhrase = status.ToString() };

    [Theory]
    [InlineData("""{"code":502,"message":"Bad Gateway"}""", "http.502")]
    [InlineData("""[]""", "http.502")]
    [InlineData("\"x\"", "http.502")]
    [InlineData("""{"code":"\udc00"}""", "http.502")]
    [InlineData("""{"error":"slow_down","interval":1.5}""", "slow_down")]
    [InlineData("""{"error":"invalid_request","writ_code":7}""", "invalid_request")]
    [InlineData("<html><body>Bad Gateway</body></html>", "http.502")]
    [InlineData("""{"code":"gateway.upstream_unreachable","detail":"crm could not be reached"}""", "gateway.upstream_unreachable")]
    public async Task ErrorBody_OfAnyShape_IsAWritApiException(string body, string code)
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => WritJson.EnsureSuccessAsync(Answer(HttpStatusCode.BadGateway, body), CancellationToken.None));

        Assert.Equal((502, code), (e.Status, e.Code));
        Assert.DoesNotContain("html", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("<html><body>Welcome to the hotel wifi</body></html>", "text/html")]
    [InlineData("""{"id":5}""", "application/json")]
    [InlineData("""[1,2,3]""", "application/json")]
    [InlineData("", "application/json")]
    public async Task SuccessBody_ThatIsNotWhatWritSends_IsUnexpectedAnswer(string body, string type)
    {
        var e = await Assert.ThrowsAsync<WritApiException>(() => WritJson.ReadAsync<TaskInfo>(Answer(HttpStatusCode.OK, body, type), CancellationToken.None));

        Assert.Equal("client.unexpected_answer", e.Code);
    }
}
