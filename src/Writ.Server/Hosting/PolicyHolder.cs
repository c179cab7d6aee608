using Writ.Core.Policy;

namespace Writ.Server.Hosting;

/// <summary>
/// The compiled policy in force. Swapped atomically on apply, so every decision sees one whole
/// version and records its number.
/// </summary>
internal sealed class PolicyHolder
{
    private volatile CompiledPolicy? _current;

    public CompiledPolicy? Current => _current;

    public void Set(CompiledPolicy policy) => _current = policy;
}
