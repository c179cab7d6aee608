using Writ.Core.Policy;

namespace Writ.Server.Hosting;

/// <summary>The demo policy <c>--dev</c> applies (examples/policy/demo.yaml, embedded at build time).</summary>
internal static class DemoPolicy
{
    public static PolicySource Source
    {
        get
        {
            using var stream = typeof(DemoPolicy).Assembly.GetManifestResourceStream("Writ.Server.demo-policy.yaml")
                ?? throw new InvalidOperationException("the demo policy is missing from the build");
            using var reader = new StreamReader(stream);
            return new PolicySource("demo.yaml", reader.ReadToEnd());
        }
    }
}
