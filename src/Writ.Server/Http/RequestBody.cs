using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Writ.Client.Http;
using Writ.Core.Common;

namespace Writ.Server.Http;

/// <summary>
/// Reads request bodies with explicit limits and turns every malformed body into an <see cref="Error"/>
/// with a stable code, instead of letting the framework answer 500 or an empty 400.
/// </summary>
internal static class RequestBody
{
    public const int DefaultMaxBytes = 64 * 1024;

    public static async Task<Result<T>> ReadJsonAsync<T>(HttpRequest request, int maxBytes = DefaultMaxBytes)
        where T : class
    {
        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return new Error("request.unsupported_media_type", "send the body as application/json");
        if (request.ContentLength > maxBytes)
            return new Error("request.too_large", $"the body is larger than {maxBytes} bytes");
        try
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
            {
                if (buffer.Length + read > maxBytes) return new Error("request.too_large", $"the body is larger than {maxBytes} bytes");
                buffer.Write(chunk, 0, read);
            }
            var value = JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), WritJson.Options);
            return value is null ? new Error("request.invalid_json", "the body is empty or null") : value;
        }
        catch (JsonException e)
        {
            // The position helps the caller; the message never includes the offending content.
            return new Error("request.invalid_json", $"the body is not valid JSON for this request (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
    }

    /// <summary>Reads an application/x-www-form-urlencoded body (OAuth endpoints), capped at <paramref name="maxBytes"/>.</summary>
    public static async Task<Result<IFormCollection>> ReadFormAsync(HttpRequest request, int maxBytes = 16 * 1024)
    {
        if (!request.HasFormContentType || request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) != true)
            return new Error("request.unsupported_media_type", "send the body as application/x-www-form-urlencoded (RFC 6749 §4.4.2)");
        if (request.ContentLength > maxBytes)
            return new Error("request.too_large", $"the body is larger than {maxBytes} bytes");
        try
        {
            var form = await request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions { ValueLengthLimit = maxBytes, KeyLengthLimit = 256, ValueCountLimit = 64, BufferBody = false }, request.HttpContext.RequestAborted);
            return Result<IFormCollection>.Ok(form);
        }
        catch (InvalidDataException)
        {
            return new Error("request.invalid_form", "the form body is malformed or exceeds its limits");
        }
        catch (BadHttpRequestException)
        {
            return new Error("request.invalid_form", "the form body is malformed or exceeds its limits");
        }
    }

    /// <summary>One value of a form field; a field sent twice is an error (RFC 6749 §3.2: parameters must not be repeated).</summary>
    public static Result<string?> Single(IFormCollection form, string name)
    {
        if (!form.TryGetValue(name, out var values) || values.Count == 0) return Result<string?>.Ok(null);
        if (values.Count > 1) return new Error("request.repeated_parameter", $"the parameter '{name}' is repeated");
        var v = values[0];
        return Result<string?>.Ok(string.IsNullOrEmpty(v) ? null : v);
    }
}
