using System.Security.Cryptography;
using System.Text;

namespace Writ.Scanner;

/// <summary>How bad a leak is. Ordered so that <c>--fail-on</c> can compare.</summary>
public enum Severity { Low = 1, Medium = 2, High = 3, Critical = 4 }

/// <summary>
/// One secret found in one place. <see cref="Secret"/> stays in memory: every report prints
/// <see cref="Redacted"/> unless the user passed <c>--show-secrets</c>.
/// </summary>
public sealed record Finding(
    string RuleId,
    string Title,
    Severity Severity,
    string Path,
    int Line,
    int Column,
    string Secret,
    IReadOnlyList<string> Notes)
{
    /// <summary>The commit that introduced the blob (only for <c>--git-history</c> scans).</summary>
    public string? Commit { get; init; }

    /// <summary>First 16 hex digits of SHA-256(secret): stable across line moves, safe to store in a baseline.</summary>
    public string Fingerprint { get; } = Fingerprints.Of(Secret);

    public string Redacted => Redaction.Redact(Secret, Fingerprint);

    /// <summary>Identity used by baselines and SARIF: the same secret in the same file under the same rule.</summary>
    public string BaselineKey => $"{RuleId}:{Path}:{Fingerprint}";
}

public static class Fingerprints
{
    public static string Of(string secret)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(secret), hash);
        return Convert.ToHexStringLower(hash[..8]);
    }
}

public static class Redaction
{
    /// <summary>A short prefix (at most 4 characters, at most a quarter of the value) and the fingerprint.</summary>
    public static string Redact(string secret, string fingerprint)
    {
        var n = Math.Min(4, secret.Length / 4);
        var prefix = new StringBuilder(n);
        foreach (var c in secret.AsSpan(0, n)) prefix.Append(char.IsControl(c) ? '?' : c);
        return $"{prefix}…[{fingerprint}]";
    }
}

public sealed record ScanError(string Path, string Message);

/// <summary>What one scan saw: the findings plus enough accounting to say what was not looked at.</summary>
public sealed class ScanReport
{
    public List<Finding> Findings { get; } = [];
    public List<ScanError> Errors { get; } = [];
    public long FilesScanned { get; set; }
    public long BytesScanned { get; set; }
    public long SkippedBinary { get; set; }
    public long SkippedTooLarge { get; set; }
    public long SkippedIgnored { get; set; }
    public long AllowedInline { get; set; }
    public long SuppressedByBaseline { get; set; }
    public TimeSpan Elapsed { get; set; }

    public void Sort() => Findings.Sort((a, b) =>
    {
        var c = b.Severity.CompareTo(a.Severity);
        if (c == 0) c = string.CompareOrdinal(a.Path, b.Path);
        if (c == 0) c = a.Line.CompareTo(b.Line);
        if (c == 0) c = a.Column.CompareTo(b.Column);
        return c == 0 ? string.CompareOrdinal(a.RuleId, b.RuleId) : c;
    });
}

public sealed record ScanOptions
{
    /// <summary>Files larger than this are skipped (counted in the report); 0 scans every size.</summary>
    public long MaxFileSize { get; init; } = 10 * 1024 * 1024;

    /// <summary>Scan <c>node_modules</c>, <c>vendor</c>, virtualenvs and the like.</summary>
    public bool IncludeVendored { get; init; }

    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Read <c>.writignore</c> at each root.</summary>
    public bool UseWritIgnore { get; init; } = true;

    /// <summary>Used to tell an expired JWT from a live one.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

public readonly record struct ScanProgress(long Files, long Bytes);
