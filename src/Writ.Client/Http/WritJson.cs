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
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync<T>(Options, ct)
            ?? throw new WritApiException((int)response.StatusCode, "client.empty_response", "the server sent an empty body");
    }

    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                var code = root.TryGetProperty("writ_code", out var wc) ? wc.GetString() : error.GetString();
                var description = root.TryGetProperty("error_description", out var d) ? d.GetString() : error.GetString();
                throw new WritApiException(status, code ?? "oauth.error", description ?? "", error.GetString())
                {
                    ApprovalId = root.TryGetProperty("approval_id", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null,
                    Interval = root.TryGetProperty("interval", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : null,
                };
            }
            if (root.TryGetProperty("code", out var c))
            {
                var detail = root.TryGetProperty("detail", out var d) ? d.GetString() : null;
                var title = root.TryGetProperty("title", out var t) ? t.GetString() : null;
                throw new WritApiException(status, c.GetString() ?? "error", detail ?? title ?? "request failed");
            }
        }
        catch (JsonException)
        {
            // Not JSON: fall through to a generic error that does not echo the body (it could be anything).
        }
        throw new WritApiException(status, "http." + status, $"the server answered {status} {response.ReasonPhrase}");
    }
}
