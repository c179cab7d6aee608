namespace Writ.Core.Common;

/// <summary>
/// Letter case as the most lenient peer sees it. Writ compares names exactly, but what it protects may not: Java's
/// <c>equalsIgnoreCase</c> takes <c>ı</c> and <c>İ</c> for <c>i</c>, Go's <c>EqualFold</c> (and so <c>encoding/json</c>'s
/// field matching) takes the Kelvin sign for <c>k</c> and the long s for <c>s</c>, and some stacks fold full-width ASCII.
/// Folding with this before a case-insensitive comparison makes those look-alikes visible. (The runtime runs with invariant
/// globalization, whose <c>OrdinalIgnoreCase</c> folds none of them.)
/// </summary>
public static class CaseFolding
{
    /// <summary><paramref name="text"/> lower-cased, with those look-alikes replaced by the ASCII letter they fold to; same length.</summary>
    public static string Fold(string text)
    {
        var i = 0;
        while (i < text.Length && text[i] < 0x80) i++;
        if (i == text.Length) return text.ToLowerInvariant();
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var j = 0; j < source.Length; j++)
            {
                var c = source[j];
                span[j] = c switch
                {
                    '\u0130' or '\u0131' => 'i',
                    '\u212A' => 'k',
                    '\u017F' => 's',
                    '\u212B' => '\u00E5',
                    >= '\uFF01' and <= '\uFF5E' => char.ToLowerInvariant((char)(c - 0xFEE0)),
                    _ => char.ToLowerInvariant(c),
                };
            }
        });
    }

    /// <summary>True when some character is outside ASCII: only then can <see cref="Fold"/> see more than <c>OrdinalIgnoreCase</c> does.</summary>
    public static bool NeedsFolding(string text) => !System.Text.Ascii.IsValid(text);
}
