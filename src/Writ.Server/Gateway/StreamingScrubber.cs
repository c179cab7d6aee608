using System.Text;

namespace Writ.Server.Gateway;

/// <summary>
/// Replaces every occurrence of the upstream credential's forms in a response body as it streams through, without
/// buffering the body whole: it holds back the last (longest pattern − 1) bytes of each chunk so an occurrence split
/// across chunks is still found. Patterns are compared as UTF-8 bytes.
/// </summary>
internal sealed class StreamingScrubber(IReadOnlyList<string> patterns)
{
    private static readonly byte[] Replacement = "[redacted]"u8.ToArray();

    private readonly byte[][] _patterns = patterns.Where(p => p.Length > 0).Select(Encoding.UTF8.GetBytes).OrderByDescending(p => p.Length).ToArray();
    private byte[] _held = [];

    private int HoldBack => _patterns.Length == 0 ? 0 : _patterns[0].Length - 1;

    /// <summary>Scrubs <paramref name="chunk"/> (after what was held back) and returns what may be sent now.</summary>
    public byte[] Push(ReadOnlySpan<byte> chunk)
    {
        var data = new byte[_held.Length + chunk.Length];
        _held.CopyTo(data, 0);
        chunk.CopyTo(data.AsSpan(_held.Length));
        var scrubbed = Replace(data);
        var keep = Math.Min(HoldBack, scrubbed.Length);
        _held = scrubbed[^keep..];
        return scrubbed[..^keep];
    }

    /// <summary>What is still held back, scrubbed; call once at the end of the body.</summary>
    public byte[] Flush()
    {
        var rest = Replace(_held);
        _held = [];
        return rest;
    }

    private byte[] Replace(byte[] data)
    {
        if (_patterns.Length == 0) return data;
        var output = new List<byte>(data.Length);
        var i = 0;
        while (i < data.Length)
        {
            var matched = false;
            foreach (var p in _patterns)
            {
                if (data.AsSpan(i).StartsWith(p))
                {
                    output.AddRange(Replacement);
                    i += p.Length;
                    matched = true;
                    break;
                }
            }
            if (!matched) output.Add(data[i++]);
        }
        return output.ToArray();
    }
}
