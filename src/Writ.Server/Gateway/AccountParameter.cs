using Writ.Core.Common;

namespace Writ.Server.Gateway;

/// <summary>The account a query names, and the query to forward: the pairs that were checked, re-encoded one by one.</summary>
internal sealed record CheckedQuery(string Account, string Query);

/// <summary>
/// Finds the account a call names in its query string, for <c>no-cross-account</c>, and gives back the query rebuilt
/// from the pairs it read, so the upstream gets exactly what was checked. ASP.NET's query collection matches names
/// case-insensitively and decodes them, but upstreams differ (case-sensitive names, <c>;</c> as a separator, Rails and
/// PHP <c>account[]</c>/<c>account[id]</c>, <c>qs</c> with dots, PHP turning <c>account.id</c> into <c>account_id</c>):
/// a look-alike such as <c>Account=</c>, <c>acc%6Funt=</c>, <c>account[x]=</c> or <c>account.id=</c> could be what
/// the gateway checks while the upstream reads another parameter or none. So any parameter whose name looks like the
/// account parameter (same letters and digits in any case or encoding, or that name followed by <c>[…]</c> or
/// <c>.…</c>) must be written exactly as the policy names it, and there must be exactly one.
/// </summary>
internal static class AccountParameter
{
    /// <summary>The decoded account value; <c>gateway.account_unknown</c> when absent, <c>gateway.account_ambiguous</c> on a look-alike or repeat.</summary>
    public static Result<CheckedQuery> Find(string? rawQuery, string name)
    {
        var wanted = Shape(name);
        var wantedBase = Shape(Base(name));
        string? value = null;
        var forwarded = new List<string>();
        var query = rawQuery is { Length: > 0 } q && q[0] == '?' ? q[1..] : rawQuery ?? "";
        foreach (var pair in query.Split('&', ';'))
        {
            if (pair.Length == 0) continue;
            var eq = pair.IndexOf('=');
            var rawName = eq < 0 ? pair : pair[..eq];
            var decodedName = Decode(rawName);
            var decodedValue = eq < 0 ? null : Decode(pair[(eq + 1)..]);
            forwarded.Add(decodedValue is null ? Encode(decodedName) : Encode(decodedName) + "=" + Encode(decodedValue));
            if (Shape(decodedName) != wanted && Shape(Base(decodedName)) != wantedBase) continue;
            if (!string.Equals(rawName, name, StringComparison.Ordinal))
                return new Error("gateway.account_ambiguous", $"under no-cross-account the query may name the account only as '{name}=', written plainly");
            if (value is not null)
                return new Error("gateway.account_ambiguous", $"under no-cross-account the query must name '{name}' once");
            value = decodedValue ?? "";
        }
        return value is null
            ? new Error("gateway.account_unknown", "under no-cross-account the call must name its account as the policy says")
            : new CheckedQuery(value, forwarded.Count == 0 ? "" : "?" + string.Join('&', forwarded));
    }

    /// <summary>Form decoding as upstreams do it ('+' is a space); malformed escapes are left as they are.</summary>
    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>RFC 3986 encoding of a decoded name or value: no '+', ';', '&amp;', '[' or '.'-games survive as separators.</summary>
    private static string Encode(string s) => Uri.EscapeDataString(s);

    /// <summary>A name without what nesting parsers read as a sub-key: <c>account[id]</c>, <c>account[]</c>, <c>account.id</c> → <c>account</c>.</summary>
    private static string Base(string s)
    {
        var cut = s.AsSpan().IndexOfAny("[.\uFF3B\uFF0E"); // and their fullwidth forms
        return cut > 0 ? s[..cut] : s;
    }

    /// <summary>
    /// The letters and digits of a name, lower-cased, fullwidth forms folded to ASCII ('ａ' is 'a', as NFKC would make it;
    /// the server runs with invariant globalization, so string.Normalize is not available): what a lenient upstream might
    /// still read as that name.
    /// </summary>
    private static string Shape(string s)
    {
        var b = new System.Text.StringBuilder(s.Length);
        foreach (var c in CaseFolding.Fold(s))
        {
            if (char.IsLetterOrDigit(c)) b.Append(c);
        }
        return b.ToString();
    }
}
