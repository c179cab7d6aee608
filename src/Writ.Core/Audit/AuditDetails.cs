using System.Text.Encodings.Web;
using System.Text.Json;

namespace Writ.Core.Audit;

/// <summary>
/// The <see cref="AuditEvent.Details"/> JSON object. Human text (a justification, a reason) is kept readable —
/// apostrophes and accents as written — since the log is read by people and by <c>grep</c>, never embedded in HTML.
/// </summary>
public static class AuditDetails
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string? Of(IReadOnlyDictionary<string, object?> fields) =>
        fields.Count == 0 ? null : JsonSerializer.Serialize(fields, Options);
}
