namespace Writ.Scanner.Detection;

/// <summary>
/// Decides what looks like a secret but is not: documented examples, placeholders, references to
/// environment variables and secret managers, redacted values. Hashes, UUIDs and public keys are
/// handled by <see cref="GenericDetector"/>, the only detector that would otherwise take them.
/// </summary>
internal static class Suppressor
{
    /// <summary>
    /// Fingerprints (<see cref="Fingerprints.Of"/>) of example values printed in provider documentation
    /// (Stripe's test keys, jwt.io's sample token, GitHub's docs token, Slack's "not a real token"), kept as
    /// hashes so that this file is not itself a finding.
    /// </summary>
    private static readonly HashSet<string> DocumentedExamples =
    [
        "2cafc0970149a84f", "3543c50b0cb9cea8", "bc3ae723f57c6b9e", "7f75367e78812551", "0e3fd41c01a69772",
        "b1471f544ceeea31", "f2d6ca16515033e5",
    ];

    private static readonly string[] PlaceholderWords =
    [
        "example", "sample", "dummy", "placeholder", "redacted", "changeme", "change_me", "change-me", "replace",
        "your_", "your-", "yourapi", "yourkey", "yourtoken", "yoursecret", "yourpassword", "insert", "notreal",
        "not_real", "not-real", "not-a-real", "not_a_real", "fake", "xxxx", "****", "....", "…", "todo", "fixme",
        "<", ">", "{{", "}}", "${", "$(", "%(", "[secret]", "[token]", "[password]", "lorem", "foobar", "abcdef",
        "123456", "qwerty", "test1234", "password123", "secret123",
    ];

    private static readonly string[] ReferenceMarkers =
    [
        "process.env", "os.environ", "environ[", "environ.get", "getenv", "env(", "env.", "env[", "secrets.",
        "vault:", "vault(", "op://", "arn:aws:secretsmanager", "arn:aws:ssm", "@microsoft.keyvault", "keyvault",
        "secretkeyref", "valuefrom", "sm://", "gcp-secret", "projects/", "configuration[", "config[", "settings.",
        "getsecret", "get_secret", "lookup(", "{{", "${", "$(", "%{",
    ];

    public static bool IsDocumentedExample(string secret) => DocumentedExamples.Contains(Fingerprints.Of(secret));

    /// <summary>Structural placeholder signs that hold for any format: EXAMPLE, long runs of one character, masks.</summary>
    public static bool IsStructuralPlaceholder(ReadOnlySpan<char> value)
    {
        if (value.Contains("EXAMPLE", StringComparison.Ordinal) || value.Contains("example", StringComparison.OrdinalIgnoreCase)) return true;
        if (value.Contains("XXXX", StringComparison.OrdinalIgnoreCase) || value.Contains("****", StringComparison.Ordinal)
            || value.Contains("...", StringComparison.Ordinal) || value.Contains('…') || value.Contains("REDACTED", StringComparison.OrdinalIgnoreCase))
            return true;
        var run = 1;
        for (var i = 1; i < value.Length; i++)
        {
            run = value[i] == value[i - 1] ? run + 1 : 1;
            if (run >= 6) return true;
        }
        return value.Contains("0123456789", StringComparison.Ordinal) || value.Contains("abcdefghij", StringComparison.OrdinalIgnoreCase)
            || value.Contains("1234567890", StringComparison.Ordinal);
    }

    /// <summary>Placeholder words and template syntax (<c>YOUR_API_KEY</c>, <c>&lt;token&gt;</c>, <c>changeme</c>).</summary>
    public static bool IsPlaceholder(string value)
    {
        if (IsStructuralPlaceholder(value)) return true;
        foreach (var w in PlaceholderWords)
            if (value.Contains(w, StringComparison.OrdinalIgnoreCase)) return true;
        // ALL_CAPS_IDENTIFIERS like API_TOKEN are names, not values.
        var allCapsName = value.Length > 0;
        foreach (var c in value) if (!(char.IsAsciiLetterUpper(c) || c == '_' || char.IsAsciiDigit(c))) { allCapsName = false; break; }
        return allCapsName && value.Contains('_');
    }

    /// <summary>References to where a secret lives rather than the secret: <c>$VAR</c>, <c>${{ secrets.X }}</c>, Key Vault, ARNs.</summary>
    public static bool IsReference(string value)
    {
        if (value.Length > 0 && value[0] is '$' or '%' or '@' && !value.StartsWith("$2", StringComparison.Ordinal)) return true;
        foreach (var m in ReferenceMarkers)
            if (value.Contains(m, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}
