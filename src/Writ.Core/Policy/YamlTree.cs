using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Writ.Core.Policy;

/// <summary>A 1-based position in a policy file, carried by every node so every diagnostic can point at its cause.</summary>
internal readonly record struct SourcePos(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>
/// A minimal YAML node tree built from YamlDotNet parser events. We build our own instead of using
/// <c>YamlStream</c> because <c>YamlStream</c> stops at the first duplicate key, while policy authors want
/// every problem at once, each with its position.
/// </summary>
internal abstract class YNode(SourcePos pos)
{
    public SourcePos Pos { get; } = pos;

    public abstract string Kind { get; }
}

internal sealed class YScalar(SourcePos pos, string value, bool isNull) : YNode(pos)
{
    public string Value { get; } = value;

    /// <summary>True for a plain empty, <c>~</c> or <c>null</c> scalar (YAML's null), so <c>production:</c> reads as "no settings".</summary>
    public bool IsNull { get; } = isNull;

    public override string Kind => IsNull ? "null" : "a scalar";
}

internal sealed class YSequence(SourcePos pos) : YNode(pos)
{
    public List<YNode> Items { get; } = [];

    public override string Kind => "a list";
}

internal sealed class YMapping(SourcePos pos) : YNode(pos)
{
    /// <summary>Entries in document order, duplicates kept so the reader can report both positions.</summary>
    public List<KeyValuePair<YNode, YNode>> Entries { get; } = [];

    public override string Kind => "a map";
}

internal static partial class YamlTree
{
    /// <summary>Nesting limit: policy is at most five levels deep; this stops stack abuse from hostile input.</summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// Parses every YAML document of <paramref name="source"/>. Returns null (after adding a
    /// <see cref="PolicyCodes.YamlSyntax"/> diagnostic) when the text is not well-formed YAML.
    /// Aliases resolve to the anchored node (shared, never expanded), so alias bombs cost nothing.
    /// </summary>
    public static List<YNode>? Parse(PolicySource source, List<PolicyDiagnostic> diagnostics)
    {
        var documents = new List<YNode>();
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        var stack = new Stack<(YNode Node, string? Anchor, YNode? PendingKey)>();
        var lastPos = new SourcePos(source.Path, 1, 1);
        try
        {
            var parser = new Parser(new StringReader(source.Text));
            while (parser.MoveNext())
            {
                var ev = parser.Current!;
                var pos = new SourcePos(source.Path, (int)ev.Start.Line, (int)ev.Start.Column);
                lastPos = pos;
                switch (ev)
                {
                    case DocumentStart:
                        anchors.Clear();
                        break;
                    case Scalar s:
                        var isNull = s.Style == ScalarStyle.Plain && s.Value is "" or "~" or "null" or "Null" or "NULL";
                        var scalar = new YScalar(pos, s.Value, isNull);
                        if (!s.Anchor.IsEmpty) anchors[s.Anchor.Value] = scalar;
                        Add(scalar);
                        break;
                    case SequenceStart ss:
                        if (stack.Count >= MaxDepth) return Fail(pos, $"nesting deeper than {MaxDepth} levels");
                        stack.Push((new YSequence(pos), ss.Anchor.IsEmpty ? null : ss.Anchor.Value, null));
                        break;
                    case MappingStart ms:
                        if (stack.Count >= MaxDepth) return Fail(pos, $"nesting deeper than {MaxDepth} levels");
                        stack.Push((new YMapping(pos), ms.Anchor.IsEmpty ? null : ms.Anchor.Value, null));
                        break;
                    case SequenceEnd:
                    case MappingEnd:
                        var done = stack.Pop();
                        // Registered only when complete, so an alias can never point into its own ancestor (no cycles).
                        if (done.Anchor is not null) anchors[done.Anchor] = done.Node;
                        Add(done.Node);
                        break;
                    case AnchorAlias alias:
                        if (!anchors.TryGetValue(alias.Value.Value, out var target))
                            return Fail(pos, $"alias *{alias.Value.Value} refers to no earlier complete anchor");
                        Add(target);
                        break;
                }
            }
        }
        catch (YamlException ex)
        {
            return Fail(new SourcePos(source.Path, (int)ex.Start.Line, (int)ex.Start.Column), CleanMessage(ex.Message));
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException)
        {
            // YamlDotNet's scanner throws these (without a mark) on some malformed input; it is still a syntax error, not a crash.
            return Fail(lastPos, "malformed YAML after this point");
        }

        return documents;

        void Add(YNode node)
        {
            if (stack.Count == 0)
            {
                documents.Add(node);
                return;
            }

            var top = stack.Pop();
            switch (top.Node)
            {
                case YSequence seq:
                    seq.Items.Add(node);
                    stack.Push(top);
                    break;
                case YMapping map when top.PendingKey is null:
                    stack.Push(top with { PendingKey = node });
                    break;
                case YMapping map:
                    map.Entries.Add(new(top.PendingKey, node));
                    stack.Push(top with { PendingKey = null });
                    break;
            }
        }

        List<YNode>? Fail(SourcePos pos, string message)
        {
            diagnostics.Add(new PolicyDiagnostic(PolicyCodes.YamlSyntax, message, pos.File, pos.Line, pos.Column));
            return null;
        }
    }

    /// <summary>YamlDotNet prefixes messages with "(Line: 3, Col: 5, Idx: 20) - (…): "; the diagnostic carries the position already.</summary>
    private static string CleanMessage(string message)
    {
        var cleaned = MarkPrefix().Replace(message, "");
        return cleaned.Length == 0 ? message : cleaned;
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
