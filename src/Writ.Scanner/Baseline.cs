using System.Text.Json;

namespace Writ.Scanner;

/// <summary>
/// Findings accepted earlier: a JSON report written by <c>writ scan --format json</c>. A finding is new
/// when its <see cref="Finding.BaselineKey"/> (rule, path, fingerprint) is not in the baseline, so moving a
/// line does not resurface it but copying the secret into another file does.
/// </summary>
public sealed class Baseline
{
    private readonly HashSet<string> _keys;

    private Baseline(HashSet<string> keys) => _keys = keys;

    public int Count => _keys.Count;

    /// <exception cref="InvalidDataException">The file is not a writ JSON report.</exception>
    public static Baseline Load(string path)
    {
        using var stream = File.OpenRead(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not JSON ({e.Message}); write one with `writ scan --format json --output {path}`", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("findings", out var findings)
                || findings.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path} has no \"findings\" array; write one with `writ scan --format json --output {path}`");
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in findings.EnumerateArray())
            {
                // A finding of another shape is not one this scan can match: skipped, like one without a fingerprint.
                if (f.ValueKind != JsonValueKind.Object) continue;
                if (Text(f, "rule") is { } rule && Text(f, "path") is { } file && Text(f, "fingerprint") is { } fp) keys.Add($"{rule}:{file}:{fp}");
            }
            return new Baseline(keys);
        }
    }

    public bool Contains(Finding f) => _keys.Contains(f.BaselineKey);

    private static string? Text(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String) return null;
        try
        {
            return v.GetString();
        }
        catch (InvalidOperationException)
        {
            return null; // not valid Unicode: matches no finding
        }
    }
}
