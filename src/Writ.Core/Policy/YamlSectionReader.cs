namespace Writ.Core.Policy;

/// <summary>
/// What the policy readers (the document, and each resource's gateway and MCP settings) share: typed access to YAML nodes where every
/// mistake becomes a diagnostic with its file, line and column, and unknown or repeated keys are reported once each.
/// </summary>
internal abstract class YamlSectionReader(List<PolicyDiagnostic> diagnostics)
{
    protected List<PolicyDiagnostic> Diagnostics { get; } = diagnostics;

    protected void Report(string code, SourcePos pos, string message) =>
        Diagnostics.Add(new PolicyDiagnostic(code, message, pos.File, pos.Line, pos.Column));

    protected Located? Scalar(YNode node, string what)
    {
        if (node is YScalar { IsNull: false } s) return new Located(s.Value, s.Pos);
        Report(PolicyCodes.InvalidType, node.Pos, $"{what} must be a single value, not {node.Kind}");
        return null;
    }

    protected YMapping? Mapping(YNode node, string what)
    {
        if (node is YMapping map) return map;
        Report(PolicyCodes.InvalidType, node.Pos, $"{what} must be a map, not {node.Kind}");
        return null;
    }

    /// <summary>
    /// True when the map has the key, or a misspelling of it that was already reported as an unknown key with a
    /// "did you mean" (so a typo gives one diagnostic, not also a missing field).
    /// </summary>
    protected static bool HasKey(YMapping map, string key) =>
        map.Entries.Any(e => e.Key is YScalar { IsNull: false } s && (s.Value == key || PolicyReader.Suggest(s.Value, [key]) == key));

    /// <summary>The map's entries whose keys are in <paramref name="allowed"/>; unknown keys (with a hint) and repeats are reported and skipped.</summary>
    protected IEnumerable<(Located Key, YNode Value)> Fields(YMapping map, string context, string[] allowed)
    {
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Entries)
        {
            if (keyNode is not YScalar { IsNull: false } key)
            {
                Report(PolicyCodes.InvalidType, keyNode.Pos, $"a key must be a plain name, not {keyNode.Kind}");
                continue;
            }
            if (Array.IndexOf(allowed, key.Value) < 0)
            {
                var hint = PolicyReader.Suggest(key.Value, allowed);
                Report(PolicyCodes.UnknownKey, key.Pos,
                    $"unknown key '{key.Value}' in {context}" + (hint is null ? $"; expected one of {string.Join(", ", allowed)}" : $"; did you mean '{hint}'?"));
                continue;
            }
            if (seen.TryGetValue(key.Value, out var first))
            {
                Report(PolicyCodes.DuplicateKey, key.Pos, $"key '{key.Value}' appears twice in {context} (first at {first})");
                continue;
            }
            seen[key.Value] = key.Pos;
            yield return (new Located(key.Value, key.Pos), value);
        }
    }
}
