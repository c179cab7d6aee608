using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Writ.Server.Gateway;

namespace Writ.Server.Mcp;

/// <summary>
/// What the audit keeps of a call's arguments, and what the agent gets back from a downstream. The audit must show what
/// was asked without becoming a store of secrets: values under secret-looking names (<c>token</c>, <c>password</c>,
/// <c>api_key</c>…, the gateway's list) and values that look like credentials themselves are replaced, strings are cut at
/// 256 characters and the whole at 4 KiB. Results have every form of an injected downstream secret replaced.
/// </summary>
internal static partial class McpRedaction
{
    public const string Redacted = "[redacted]";
    private const int MaxString = 256;
    private const int MaxJson = 4096;
    private const int MaxDepth = 8;

    /// <summary>Well-known credential shapes: provider prefixes, JWTs, PEM blocks, runs of more than 40 letters and digits.</summary>
    [GeneratedRegex(@"(^|[^A-Za-z0-9])(sk|pk|rk)_(live|test)?_?[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_|xox[abprs]-|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY|[A-Za-z0-9]{41,}", RegexOptions.CultureInvariant)]
    private static partial Regex CredentialLooking();

    /// <summary>The arguments as a JSON string for the audit record.</summary>
    public static string ForAudit(JsonNode? arguments, IReadOnlyList<string> secrets)
    {
        if (arguments is null) return "{}";
        var json = Redact(arguments, secrets, 0)?.ToJsonString() ?? "null";
        return json.Length <= MaxJson ? json : JsonSerializer.Serialize(json[..MaxJson] + "…");
    }

    private static JsonNode? Redact(JsonNode? node, IReadOnlyList<string> secrets, int depth)
    {
        if (node is null) return null;
        if (depth >= MaxDepth) return JsonValue.Create("…");
        switch (node)
        {
            case JsonObject o:
            {
                var copy = new JsonObject();
                foreach (var (k, v) in o)
                    copy[k] = GatewayEndpoints.SecretLooking().IsMatch(k) ? JsonValue.Create(Redacted) : Redact(v, secrets, depth + 1);
                return copy;
            }
            case JsonArray a:
            {
                var copy = new JsonArray();
                foreach (var v in a.Take(64)) copy.Add(Redact(v, secrets, depth + 1));
                return copy;
            }
            default:
                if (node.GetValueKind() != JsonValueKind.String) return node.DeepClone();
                var s = node.GetValue<string>();
                if (CredentialLooking().IsMatch(s) || secrets.Any(x => s.Contains(x, StringComparison.Ordinal))) return JsonValue.Create(Redacted);
                return JsonValue.Create(s.Length > MaxString ? s[..MaxString] + "…" : s);
        }
    }

    /// <summary>Replaces every form of every injected secret in a serialized answer (already JSON text, so JSON-escaped forms count).</summary>
    public static string Scrub(string json, IReadOnlyList<string> forms)
    {
        foreach (var f in forms)
        {
            if (json.Contains(f, StringComparison.Ordinal)) json = json.Replace(f, Redacted, StringComparison.Ordinal);
        }
        return json;
    }

    public static int Utf8Length(string s) => Encoding.UTF8.GetByteCount(s);
}
