using Writ.Core.Common;

namespace Writ.Server.Gateway;

/// <summary>
/// Finds the account a call names in its query string, for <c>no-cross-account</c>, reading the raw query that is
/// forwarded unchanged. ASP.NET's query collection matches names case-insensitively and decodes them, but upstreams
/// differ (case-sensitive names, <c>;</c> as a separator, <c>account[]</c>): a look-alike such as <c>Account=</c>,
/// <c>acc%6Funt=</c> or <c>account[]=</c> could be what the gateway checks while the upstream reads another
/// parameter or none. So any parameter whose name looks like the account parameter (same letters and digits, any
/// case, any encoding) must be written exactly as the policy names it, and there must be exactly one.
/// </summary>
internal static class AccountParameter
{
    /// <summary>The decoded account value; <c>gateway.account_unknown</c> when absent, <c>gateway.account_ambiguous</c> on a look-alike or repeat.</summary>
    public static Result<string> Find(string? rawQuery, string name)
    {
        var wanted = Shape(name);
        string? value = null;
        var query = rawQuery is { Length: > 0 } q && q[0] == '?' ? q[1..] : rawQuery ?? "";
        foreach (var pair in query.Split('&', ';'))
        {
            if (pair.Length == 0) continue;
            var eq = pair.IndexOf('=');
            var rawName = eq < 0 ? pair : pair[..eq];
            if (Shape(Decode(rawName)) != wanted) continue;
            if (!string.Equals(rawName, name, StringComparison.Ordinal))
                return new Error("gateway.account_ambiguous", $"under no-cross-account the query may name the account only as '{name}=', written plainly");
            if (value is not null)
                return new Error("gateway.account_ambiguous", $"under no-cross-account the query must name '{name}' once");
            value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
        }
        return value is null ? new Error("gateway.account_unknown", "under no-cross-account the call must name its account as the policy says") : value;
    }

    /// <summary>Form decoding as upstreams do it ('+' is a space); malformed escapes are left as they are.</summary>
    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>
    /// The letters and digits of a name, lower-cased, fullwidth forms folded to ASCII ('ａ' is 'a', as NFKC would make it;
    /// the server runs with invariant globalization, so string.Normalize is not available): what a lenient upstream might
    /// still read as that name.
    /// </summary>
    private static string Shape(string s)
    {
        var b = new System.Text.StringBuilder(s.Length);
        foreach (var ch in s)
        {
            var c = ch is >= '\uFF01' and <= '\uFF5E' ? (char)(ch - 0xFEE0) : ch;
            if (char.IsLetterOrDigit(c)) b.Append(char.ToLowerInvariant(c));
        }
        return b.ToString();
    }
}
