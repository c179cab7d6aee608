using System.Text;

namespace Writ.Scanner.Detection;

/// <summary>
/// PEM (RFC 7468) private keys, OpenSSH keys, PGP private key blocks and PuTTY key files. The block is
/// followed to its END line across lines, including PEM written as one JSON string with <c>\n</c> escapes.
/// Public keys and certificates never match: the label must say PRIVATE KEY. Encrypted keys are reported
/// at Medium (still a leak, but a passphrase stands between the finder and the key).
/// </summary>
internal static class PrivateKeys
{
    private const int MaxBlock = 64 * 1024;

    public static void Scan(ReadOnlySpan<char> text, int hit, List<RawFinding> output)
    {
        if (text[hit..].StartsWith("PuTTY-User-Key-File-", StringComparison.Ordinal)) { PuTTY(text, hit, output); return; }
        var labelStart = hit + "-----BEGIN ".Length;
        var labelEnd = text[labelStart..Math.Min(text.Length, labelStart + 64)].IndexOf("-----", StringComparison.Ordinal);
        if (labelEnd < 0) return;
        var label = text.Slice(labelStart, labelEnd).ToString();
        if (!(label.EndsWith("PRIVATE KEY", StringComparison.Ordinal) || label == "PGP PRIVATE KEY BLOCK")) return;
        var bodyStart = labelStart + labelEnd + 5;
        var limit = Math.Min(text.Length, bodyStart + MaxBlock);
        var endMarker = "-----END " + label + "-----";
        var endRel = text[bodyStart..limit].IndexOf(endMarker, StringComparison.Ordinal);
        if (endRel < 0) return;
        var raw = text.Slice(bodyStart, endRel);
        var encrypted = label.Contains("ENCRYPTED", StringComparison.Ordinal) || raw.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal);
        var body = CleanBody(raw);
        if (body.Length < 64 || Suppressor.IsStructuralPlaceholder(body)) return;
        var id = label switch
        {
            "OPENSSH PRIVATE KEY" => "openssh-private-key",
            "PGP PRIVATE KEY BLOCK" => "pgp-private-key",
            _ => "private-key",
        };
        if (id == "openssh-private-key") encrypted |= OpenSshEncrypted(body);
        var d = Catalog.ById(id);
        output.Add(new RawFinding(d, hit, bodyStart + endRel + endMarker.Length, body, encrypted ? Verdict.Encrypted : Verdict.Valid,
            encrypted ? "encrypted with a passphrase" : null));
    }

    /// <summary>Base64 characters of the body: drops header lines (Proc-Type, Version), whitespace, JSON <c>\n</c> escapes and quotes.</summary>
    private static string CleanBody(ReadOnlySpan<char> raw)
    {
        var sb = new StringBuilder(raw.Length);
        var text = raw.ToString().Replace("\\n", "\n").Replace("\\r", "");
        foreach (var line in text.Split('\n'))
        {
            if (line.Contains(':')) continue;
            foreach (var c in line) if (char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=') sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>openssh-key-v1: magic, then the cipher name as an SSH string; "none" means unencrypted.</summary>
    private static bool OpenSshEncrypted(string body)
    {
        try
        {
            var bytes = Convert.FromBase64String(body[..(Math.Min(body.Length, 64) / 4 * 4)]);
            const int magic = 15; // "openssh-key-v1\0"
            if (bytes.Length < magic + 8) return false;
            var len = (bytes[magic] << 24) | (bytes[magic + 1] << 16) | (bytes[magic + 2] << 8) | bytes[magic + 3];
            if (len <= 0 || magic + 4 + len > bytes.Length) return false;
            return Encoding.ASCII.GetString(bytes, magic + 4, len) != "none";
        }
        catch (FormatException) { return false; }
    }

    private static void PuTTY(ReadOnlySpan<char> text, int hit, List<RawFinding> output)
    {
        var limit = Math.Min(text.Length, hit + MaxBlock);
        var block = text[hit..limit];
        var pl = block.IndexOf("Private-Lines:", StringComparison.Ordinal);
        if (pl < 0) return;
        var afterCount = block[(pl + "Private-Lines:".Length)..];
        var nl = afterCount.IndexOf('\n');
        if (nl < 0 || !int.TryParse(afterCount[..nl].Trim(), out var lines) || lines is <= 0 or > 200) return;
        var rest = afterCount[(nl + 1)..].ToString().Split('\n');
        if (rest.Length < lines) return;
        var body = string.Concat(rest.Take(lines).Select(l => l.Trim()));
        if (body.Length < 32 || Suppressor.IsStructuralPlaceholder(body)) return;
        var encrypted = !block.Contains("Encryption: none", StringComparison.Ordinal);
        var end = hit + pl + "Private-Lines:".Length + nl + 1 + rest.Take(lines).Sum(l => l.Length + 1);
        output.Add(new RawFinding(Catalog.ById("putty-private-key"), hit, end, body, encrypted ? Verdict.Encrypted : Verdict.Valid,
            encrypted ? "encrypted with a passphrase" : null));
    }
}

/// <summary>
/// A Kubernetes <c>kind: Secret</c> manifest (YAML): every value under <c>data:</c> (base64) or
/// <c>stringData:</c> is a secret by declaration. A decoded value that holds a known format is reported
/// as that format; otherwise as <c>kubernetes-secret</c>. Certificates (<c>*.crt</c>, <c>ca.crt</c>) are public.
/// </summary>
internal static class KubernetesSecrets
{
    /// <returns>The end of the YAML document, up to which further <c>kind: Secret</c> hits need no second look.</returns>
    public static int Scan(Engine engine, ReadOnlySpan<char> text, int hit, FileContext file, ScanContext ctx, List<RawFinding> output, int depth)
    {
        var back = Math.Max(0, hit - 64 * 1024);
        var docStartRel = text[back..hit].LastIndexOf("\n---", StringComparison.Ordinal);
        var docStart = docStartRel >= 0 ? back + docStartRel + 1 : back;
        var fwd = Math.Min(text.Length, hit + 256 * 1024);
        var docEndRel = text[hit..fwd].IndexOf("\n---", StringComparison.Ordinal);
        var docEnd = docEndRel >= 0 ? hit + docEndRel : fwd;
        var d = Catalog.ById("kubernetes-secret");
        var mode = 0; // 0 outside, 1 data, 2 stringData
        var pos = docStart;
        while (pos < docEnd)
        {
            var nl = text[pos..docEnd].IndexOf('\n');
            var lineEnd = nl < 0 ? docEnd : pos + nl;
            var line = text[pos..lineEnd].TrimEnd('\r');
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                var t = line.TrimEnd();
                mode = t is "data:" ? 1 : t is "stringData:" ? 2 : 0;
            }
            else if (mode != 0 && line.Trim().Length > 0)
            {
                var trimmed = line.TrimStart();
                var colon = trimmed.IndexOf(':');
                if (colon > 0)
                {
                    var key = trimmed[..colon].Trim().Trim('"').ToString();
                    var value = trimmed[(colon + 1)..].Trim().Trim('"').Trim('\'').ToString();
                    var valueStart = pos + (line.Length - trimmed.Length) + colon + 1;
                    if (value.Length > 0 && !key.EndsWith(".crt", StringComparison.Ordinal) && !key.EndsWith(".pub", StringComparison.Ordinal))
                        Report(engine, d, mode == 1 ? Validators.TryBase64(value) : value, valueStart, lineEnd, file, ctx, output, depth);
                }
            }
            pos = lineEnd + 1;
        }
        return docEnd;
    }

    private static void Report(Engine engine, Detector d, string? value, int start, int end, FileContext file, ScanContext ctx, List<RawFinding> output, int depth)
    {
        if (value is null || value.Length < 4 || Suppressor.IsPlaceholder(value) || Suppressor.IsReference(value)) return;
        var before = output.Count;
        engine.ScanDecoded(value, start, end, "kubernetes Secret value", file, ctx, output, depth);
        if (output.Count == before) output.Add(new RawFinding(d, start, end, value, Verdict.Valid, null));
    }
}
