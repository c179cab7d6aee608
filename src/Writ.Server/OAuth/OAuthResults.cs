using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Common;

namespace Writ.Server.OAuth;

/// <summary>RFC 6749 §5.2 error responses carrying Writ's stable code and a description that says exactly why.</summary>
internal static class OAuthResults
{
    public static IResult Error(string error, Error writ, int status = 400) => Error(error, writ.Code, writ.Message, status);

    public static IResult Error(string error, string writCode, string description, int status = 400, string? approvalId = null, int? interval = null, int? expiresIn = null)
    {
        return new NoStoreResult(Results.Json(new OAuthError(error, description, writCode, approvalId, interval, expiresIn), WritJson.Options, statusCode: status));
    }

    public static IResult Json<T>(T body) => new NoStoreResult(Results.Json(body, WritJson.Options));

    /// <summary>RFC 6749 §5.1: token responses must not be cached.</summary>
    private sealed class NoStoreResult(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.CacheControl = "no-store";
            httpContext.Response.Headers.Pragma = "no-cache";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
