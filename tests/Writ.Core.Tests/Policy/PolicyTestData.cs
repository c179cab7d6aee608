using System.Runtime.CompilerServices;
using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>Shared helpers: load YAML text, find the repository's demo policy.</summary>
internal static class PolicyTestData
{
    public static PolicyLoadResult Load(string yaml, string file = "policy.yaml") => PolicyLoader.Load([new PolicySource(file, yaml)]);

    public static PolicyModel LoadValid(string yaml)
    {
        var result = Load(yaml);
        Assert.True(result.IsValid, string.Join("\n", result.Diagnostics));
        return result.Policy!;
    }

    public static CompiledPolicy Compile(string yaml) => CompiledPolicy.Compile(LoadValid(yaml), 1, "test");

    /// <summary>Found from this source file's path, so it works wherever the test assembly is built.</summary>
    public static string RepoRoot([CallerFilePath] string thisFile = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(thisFile)!);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Writ.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Writ.slnx) not found");
    }

    public static string DemoPath => Path.Combine(RepoRoot(), "examples", "policy", "demo.yaml");
}
