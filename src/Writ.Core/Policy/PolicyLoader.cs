using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Policy;

/// <summary>
/// Reads policy YAML into a validated <see cref="PolicyModel"/>. All files merge into one policy; every problem
/// is reported with its file, line and column. Loading is pure (no I/O) so the server's <c>apply</c> endpoint,
/// <c>writ policy test</c> and the tests share one code path; <see cref="ReadPath"/> is the only I/O here.
/// </summary>
public static class PolicyLoader
{
    /// <summary>
    /// Parses and validates <paramref name="sources"/> as one policy. On a YAML syntax error only syntax
    /// errors are returned (with a null policy): cross-reference errors against a half-read file would mislead.
    /// </summary>
    public static PolicyLoadResult Load(IReadOnlyList<PolicySource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var diagnostics = new List<PolicyDiagnostic>();
        var documents = new List<YNode>();
        var syntaxOk = true;
        foreach (var source in sources)
        {
            var docs = YamlTree.Parse(source, diagnostics);
            if (docs is null) syntaxOk = false;
            else documents.AddRange(docs);
        }
        if (!syntaxOk) return new PolicyLoadResult(null, diagnostics);

        var reader = new PolicyReader(diagnostics);
        foreach (var doc in documents) reader.ReadDocument(doc);
        var model = new PolicyValidator(diagnostics).Validate(reader.Decls);
        return new PolicyLoadResult(model, InSourceOrder(diagnostics, sources));
    }

    /// <summary>Sorted like a compiler's output: by file (in the given order), line, column; stable for ties.</summary>
    private static List<PolicyDiagnostic> InSourceOrder(List<PolicyDiagnostic> diagnostics, IReadOnlyList<PolicySource> sources)
    {
        var fileIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < sources.Count; i++) fileIndex.TryAdd(sources[i].Path, i);
        return diagnostics
            .OrderBy(d => fileIndex.GetValueOrDefault(d.File, int.MaxValue))
            .ThenBy(d => d.Line)
            .ThenBy(d => d.Column)
            .ToList();
    }

    /// <summary>Convenience for one in-memory file.</summary>
    public static PolicyLoadResult Load(string path, string text) => Load([new PolicySource(path, text)]);

    /// <summary>
    /// Reads a policy file, or every <c>*.yaml</c>/<c>*.yml</c> file directly inside a directory in ordinal
    /// order of file name (so the merge order, and the hash, do not depend on the file system).
    /// </summary>
    /// <exception cref="FileNotFoundException">The path does not exist, or the directory holds no policy file.</exception>
    public static IReadOnlyList<PolicySource> ReadPath(string fileOrDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileOrDirectory);
        if (File.Exists(fileOrDirectory))
            return [new PolicySource(fileOrDirectory, File.ReadAllText(fileOrDirectory))];
        if (!Directory.Exists(fileOrDirectory))
            throw new FileNotFoundException($"policy path '{fileOrDirectory}' does not exist (expected a .yaml file or a directory of them)", fileOrDirectory);

        var files = Directory.EnumerateFiles(fileOrDirectory)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"policy directory '{fileOrDirectory}' holds no *.yaml or *.yml file", fileOrDirectory);
        return files.Select(f => new PolicySource(f, File.ReadAllText(f))).ToList();
    }

    /// <summary>
    /// A stable SHA-256 (lower-case hex) over the sources in the given order: each file contributes its file name
    /// (not the directory, so the hash does not depend on where the policy was checked out) and its text,
    /// length-prefixed so no two different sets of files hash alike. Recorded with each applied version.
    /// </summary>
    public static string ComputeSha256(IReadOnlyList<PolicySource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var source in sources)
        {
            foreach (var part in new[] { Path.GetFileName(source.Path.Replace('\\', '/')), source.Text })
            {
                var bytes = Encoding.UTF8.GetBytes(part);
                hash.AppendData(Encoding.ASCII.GetBytes($"{bytes.Length}:"));
                hash.AppendData(bytes);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
