namespace Writ.Scanner.Detection;

/// <summary>
/// The catch-all: a credential-named key (<c>password</c>, <c>api_key</c>, <c>DB_SECRET</c>, <c>authToken</c>)
/// assigned a literal that looks random enough. Hand-written rather than a regex so that it costs a few
/// comparisons on the many lines that merely mention "token".
/// </summary>
internal static class GenericDetector
{
    public static readonly string[] Keywords =
    [
        .. Catalog.Cases("password", "passwd", "passphrase", "secret", "token", "api_key", "apikey", "api-key",
            "access_key", "private_key", "credential", "auth_key", "signing_key", "encryption_key", "master_key"),
        "Pwd", "pwd", "PWD", "apiKey", "ApiKey", "accessKey", "AccessKey", "privateKey", "PrivateKey", "clientSecret", "signingKey",
        "encryptionKey", "masterKey", "authKey", "Passwd", "Passphrase",
    ];

    /// <summary>Calibrated on the test corpus (docs/scanner.md): random tokens of 16+ chars sit above 3.3 bits/char; identifiers and words below.</summary>
    public const double TokenEntropy = 3.3;

    /// <summary>Passwords are shorter and less random than tokens; they need two character classes and this much entropy.</summary>
    public const double PasswordEntropy = 2.6;

    /// <summary>Longer values are not read (and would fail <see cref="IsPlausibleValue"/> anyway).</summary>
    private const int MaxValue = 260;

    private static readonly string[] SecretNameEndings =
    [
        "password", "passwd", "passphrase", "pwd", "pass", "secret", "secretkey", "token", "apikey", "accesskey", "privatekey",
        "authkey", "signingkey", "encryptionkey", "masterkey", "clientsecret", "credential", "credentials", "accesstoken",
        "authtoken", "refreshtoken", "bearertoken", "apitoken", "secrettoken", "sessionsecret", "webhooksecret", "keysecret",
    ];

    /// <summary>Name parts that make a credential-sounding key describe something else (token_count, password_hash, secret_name).</summary>
    private static readonly HashSet<string> NoiseParts = new(StringComparer.OrdinalIgnoreCase)
    {
        "count", "len", "length", "size", "type", "types", "name", "names", "id", "ids", "url", "uri", "endpoint", "path", "file",
        "dir", "expires", "expiry", "expiration", "ttl", "timeout", "header", "field", "param", "prefix", "suffix", "format",
        "kind", "mode", "policy", "regex", "pattern", "enabled", "enable", "required", "hash", "hashed", "digest", "sha", "sha1",
        "sha256", "sha512", "md5", "checksum", "public", "pub", "publishable", "display", "label", "limit", "max", "min",
        "index", "usage", "cache", "provider", "manager", "service", "class", "placeholder", "hint", "prompt", "message", "error",
        "input", "validator", "rotation", "version", "location", "ref", "reference", "arn", "env", "var", "variable", "source",
        "lifetime", "at", "created", "updated", "issued", "store", "storage", "rule", "rules", "salt",
        "scope", "scopes", "audience", "issuer", "template", "example", "sample", "mock", "fake",
        "reset", "forgot", "confirm", "confirmation", "strength", "column", "bucket",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Noise = NoiseParts.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Finds an assignment whose key contains the keyword hit at <paramref name="hit"/>; returns the value span or null.</summary>
    public static (int Start, int Length)? Match(ReadOnlySpan<char> text, int hit, int lineStart, int lineEnd, FileContext file)
    {
        // Key: extend the identifier around the hit.
        var ks = hit;
        while (ks > lineStart && IsKeyChar(text[ks - 1])) ks--;
        var ke = hit;
        while (ke < lineEnd && IsKeyChar(text[ke])) ke++;
        var key = text[ks..ke];
        if (key.Length > 64) return null;

        var i = ke;
        if (i < lineEnd && text[i] is '"' or '\'' or '`') i++;
        else if (i + 1 < lineEnd && text[i] == '\\' && text[i + 1] == '"') i += 2;
        while (i < lineEnd && text[i] is ' ' or '\t') i++;
        // Operator: =, :, :=, =>, ->, or a shell/CLI "--password value" style is not taken (too ambiguous).
        if (i >= lineEnd) return null;
        if (text[i] == ':') { i++; if (i < lineEnd && text[i] == '=') i++; }
        else if (text[i] == '=') { i++; if (i < lineEnd && text[i] == '=') return null; if (i < lineEnd && text[i] == '>') i++; }
        else return null;
        // Only now the (costlier) name check: most mentions of "token" are not assignments.
        if (!IsSecretName(key)) return null;
        while (i < lineEnd && text[i] is ' ' or '\t') i++;
        if (i >= lineEnd) return null;
        // String prefixes: b"", r"", f"", @"", $"".
        if (i + 1 < lineEnd && text[i] is 'b' or 'r' or 'f' or '@' or 'u' && text[i + 1] is '"' or '\'') i++;

        int vs, ve;
        if (text[i] is '"' or '\'' or '`')
        {
            var q = text[i];
            vs = i + 1; ve = vs;
            var limit = Math.Min(lineEnd, vs + MaxValue);
            while (ve < limit && text[ve] != q) { if (text[ve] == '\\') ve++; ve++; }
            if (ve >= limit) return null;
        }
        else if (text[i] == '\\' && i + 1 < lineEnd && text[i + 1] == '"')
        {
            vs = i + 2; ve = vs;
            var limit = Math.Min(lineEnd, vs + MaxValue);
            while (ve < limit && text[ve] != '\\') ve++;
        }
        else
        {
            if (!file.AllowsBareValues) return null;
            vs = i; ve = vs;
            var limit = Math.Min(lineEnd, vs + MaxValue);
            while (ve < limit && !(char.IsWhiteSpace(text[ve]) || text[ve] is ',' or ';' or '"' or '\'' or '`' or ')' or ']' or '}')) ve++;
            if (ve < lineEnd && text[ve] is '"' or '\'') return null;   // half-quoted: something else
        }
        var value = text[vs..ve];
        return IsPlausibleValue(value, IsPasswordName(key)) ? (vs, ve - vs) : null;
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';

    private static bool IsPasswordName(ReadOnlySpan<char> key) =>
        key.Contains("pass", StringComparison.OrdinalIgnoreCase) || key.Contains("pwd", StringComparison.OrdinalIgnoreCase);

    /// <summary>The key must end in a credential word and contain no noise part (split on _ - . and camelCase).</summary>
    internal static bool IsSecretName(ReadOnlySpan<char> key)
    {
        Span<char> norm = stackalloc char[key.Length];
        var n = 0;
        foreach (var c in key) if (char.IsAsciiLetterOrDigit(c)) norm[n++] = char.ToLowerInvariant(c);
        var flat = norm[..n];
        var ends = false;
        foreach (var e in SecretNameEndings) if (flat.EndsWith(e, StringComparison.Ordinal)) { ends = true; break; }
        if (!ends) return false;
        // Split into parts at separators and lower→Upper transitions.
        var start = 0;
        for (var i = 1; i <= key.Length; i++)
        {
            var boundary = i == key.Length || key[i] is '_' or '-' or '.'
                || (char.IsAsciiLetterUpper(key[i]) && char.IsAsciiLetterLower(key[i - 1]));
            if (!boundary) continue;
            var part = key[start..i].Trim("_-.");
            if (part.Length > 0 && Noise.Contains(part)) return false;
            start = i;
        }
        return true;
    }

    internal static bool IsPlausibleValue(ReadOnlySpan<char> value, bool password)
    {
        if (value.Length < 8 || value.Length > 256) return false;
        if (password ? value.Length < 8 : value.Length < 16) return false;
        foreach (var c in value) if (c is ' ' or '\t' || char.IsControl(c)) return false;
        var s = value.ToString();
        if (Suppressor.IsDocumentedExample(s) || Suppressor.IsPlaceholder(s) || Suppressor.IsReference(s)) return false;
        if (IsUuid(value) || IsHashLike(value) || IsPublicMaterial(value) || LooksLikePathOrUrl(value) || LooksLikeCode(value)) return false;
        var classes = Entropy.CharClasses(value);
        var h = Entropy.Shannon(value);
        return password ? classes >= 2 && h >= PasswordEntropy : classes >= 2 && h >= TokenEntropy && HasDigitOrSymbol(value);
    }

    private static bool HasDigitOrSymbol(ReadOnlySpan<char> v)
    {
        foreach (var c in v) if (!char.IsAsciiLetter(c)) return true;
        return false;
    }

    internal static bool IsUuid(ReadOnlySpan<char> v) =>
        v.Length == 36 && v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-' && Guid.TryParse(v, out _);

    /// <summary>Hex digests of the common lengths and SRI integrity values (sha512-…).</summary>
    internal static bool IsHashLike(ReadOnlySpan<char> v)
    {
        if (v.StartsWith("sha1-", StringComparison.Ordinal) || v.StartsWith("sha256-", StringComparison.Ordinal)
            || v.StartsWith("sha384-", StringComparison.Ordinal) || v.StartsWith("sha512-", StringComparison.Ordinal)
            || v.StartsWith("sha256:", StringComparison.Ordinal) || v.StartsWith("$2a$", StringComparison.Ordinal)
            || v.StartsWith("$2b$", StringComparison.Ordinal) || v.StartsWith("$argon2", StringComparison.Ordinal))
            return true;
        return false;
    }

    private static bool IsPublicMaterial(ReadOnlySpan<char> v) =>
        v.StartsWith("ssh-rsa", StringComparison.Ordinal) || v.StartsWith("ssh-ed25519", StringComparison.Ordinal)
        || v.StartsWith("ecdsa-sha2", StringComparison.Ordinal) || v.StartsWith("pk_live_", StringComparison.Ordinal)
        || v.StartsWith("pk_test_", StringComparison.Ordinal) || v.StartsWith("-----BEGIN PUBLIC", StringComparison.Ordinal)
        || v.StartsWith("-----BEGIN CERTIFICATE", StringComparison.Ordinal);

    private static bool LooksLikePathOrUrl(ReadOnlySpan<char> v) =>
        v[0] is '/' or '.' or '~' || v.Contains("://", StringComparison.Ordinal) || v.StartsWith("./", StringComparison.Ordinal);

    /// <summary><c>self.token_store.get</c>, <c>config.apiKey</c>, <c>getToken()</c>: expressions, not literals.</summary>
    private static bool LooksLikeCode(ReadOnlySpan<char> v)
    {
        if (v.Contains('(') || v.Contains("->", StringComparison.Ordinal) || v.Contains("::", StringComparison.Ordinal)) return true;
        // dotted identifier chains with no digits
        if (v.Contains('.') && !v.ContainsAny("0123456789"))
        {
            foreach (var c in v) if (!(char.IsAsciiLetter(c) || c is '.' or '_')) return false;
            return true;
        }
        return false;
    }
}
