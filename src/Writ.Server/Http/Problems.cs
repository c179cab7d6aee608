using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Writ.Client.Contracts;
using Writ.Client.Http;
using Writ.Core.Common;

namespace Writ.Server.Http;

/// <summary>
/// RFC 9457 problem+json with Writ's stable <c>code</c>. Every refusal of the admin and agent API goes
/// through here, so the shape is the same everywhere and no exception text (which could hold a secret)
/// ever reaches a client.
/// </summary>
internal static class Problems
{
    public const string ContentType = "application/problem+json";

    public static IResult Of(int status, string code, string detail) =>
        Results.Json(new Problem("https://writ.dev/errors/" + code, TitleOf(status), status, detail, code), WritJson.Options, ContentType, status);

    public static IResult Of(Error error, int? status = null) => Of(status ?? StatusOf(error.Code), error.Code, error.Message);

    public static IResult BadRequest(string code, string detail) => Of(400, code, detail);

    /// <summary>Writes a problem directly (for middleware that runs outside endpoint results).</summary>
    public static Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        return JsonSerializer.SerializeAsync(context.Response.Body,
            new Problem("https://writ.dev/errors/" + code, TitleOf(status), status, detail, code), WritJson.Options, context.RequestAborted);
    }

    /// <summary>The HTTP status that fits an error code's family.</summary>
    public static int StatusOf(string code) => code switch
    {
        _ when code.EndsWith(".not_found", StringComparison.Ordinal) => 404,
        _ when code.StartsWith("auth.", StringComparison.Ordinal) => code == "auth.forbidden" || code == "auth.agent_forbidden" ? 403 : 401,
        _ when code.StartsWith("policy.", StringComparison.Ordinal) => 403,
        _ when code.EndsWith(".conflict", StringComparison.Ordinal) => 409,
        _ => 400,
    };

    private static string TitleOf(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        _ => "Error",
    };
}
