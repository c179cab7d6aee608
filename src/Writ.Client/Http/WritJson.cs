using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Writ.Client.Contracts;

namespace Writ.Client.Http;

/// <summary>The JSON settings of Writ's API, and turning error responses into <see cref="WritApiException"/>.</summary>
public static class WritJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads a success body, or throws the server's problem+json / OAuth error as a <see cref="WritApiException"/>.</summary>
    /// <remarks>
    /// A success body that is not what Writ sends (an HTML page from a proxy or a captive portal at that address, JSON of
    /// another shape) is a <see cref="WritApiException"/> <c>client.unexpected_answer</c> too, never a parser's exception.
    /// </remarks>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        await EnsureSuccessAsync(response, ct);
        T? value;
        try
        {
            value = await response.Content.ReadFromJsonAsync<T>(Options, ct);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new WritApiException((int)response.StatusCode, "client.unexpected_answer",
                "the server's answer is not what a Writ server sends: is the address (WRIT_ADDR, --server) a Writ server?");
        }
        return value ?? throw new WritApiException((int)response.StatusCode, "client.empty_response", "the server sent an empty body");
    }

    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(ct);
        if (Problem(status, body) is { } problem) throw problem;
        throw new WritApiException(status, "http." + status, $"the server answered {status} {response.ReasonPhrase}");
    }

    /// <summary>
    /// The server's error in an OAuth error or problem+json body; null for anything else (not JSON, another shape, a field
    /// of another type), which the caller reports without echoing the body (it could be anything).
    /// </summary>
    private static WritApiException? Problem(int status, string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (Text(root, "error") is { } error)
            {
                return new WritApiException(status, Text(root, "writ_code") ?? error, Text(root, "error_description") ?? error, error)
                {
                    ApprovalId = Text(root, "approval_id"),
                    Interval = root.TryGetProperty("interval", out var i) && i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out var seconds) ? seconds : null,
                };
            }
            if (Text(root, "code") is { } code) return new WritApiException(status, code, Text(root, "detail") ?? Text(root, "title") ?? "request failed");
            return null;
        }
        catch (JsonException)
        {
            return null;
        }

        // A string member, or null when it is missing, of another type, or not readable as a string (a lone surrogate).
        static string? Text(JsonElement o, string name)
        {
            if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String) return null;
            try
            {
                return v.GetString();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }
}
