using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Writ.Core.Common;

/// <summary>
/// JSON strings that .NET cannot turn into a <see cref="string"/>: a lone surrogate escape (<c>"\udc00"</c>) or raw bytes
/// that are not UTF-8. The parsers accept both (RFC 8259 §8.2 leaves such strings to the reader), and reading one later
/// throws <see cref="InvalidOperationException"/>, not <see cref="JsonException"/>, so a check that catches only the
/// latter answers 500. Untrusted JSON is checked here where it comes in and refused as malformed.
/// </summary>
public static class JsonText
{
    /// <summary>
    /// True when a string value or property name in <paramref name="utf8Json"/> is not valid Unicode. Meant for text that
    /// has already parsed; JSON that does not parse is left to the parser's own error.
    /// </summary>
    public static bool HasUnreadableString(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 1024 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)) continue;
                if (reader.ValueIsEscaped ? !TryGetString(ref reader, out _) : !Utf8.IsValid(reader.ValueSpan)) return true;
            }
        }
        catch (JsonException)
        {
            return false;
        }
        return false;
    }

    /// <inheritdoc cref="HasUnreadableString(ReadOnlySpan{byte})"/>
    public static bool HasUnreadableString(string json)
    {
        // A .NET string may itself hold a lone surrogate; it would become U+FFFD on the way to UTF-8 and pass unseen.
        if (!IsValidUtf16(json)) return true;
        return HasUnreadableString(Encoding.UTF8.GetBytes(json));
    }

    /// <summary><see cref="Utf8JsonReader.GetString"/> for a string token, false instead of a throw when it is not valid Unicode.</summary>
    public static bool TryGetString(ref Utf8JsonReader reader, out string? value)
    {
        try
        {
            value = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    private static bool IsValidUtf16(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])) return false;
            i++;
        }
        return true;
    }
}
