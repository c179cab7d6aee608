using System.Text.RegularExpressions;

namespace Writ.Scanner.Detection;

/// <summary>What a validator says about a candidate that matched a detector's pattern.</summary>
internal enum Verdict
{
    /// <summary>Looks real (and its checksum, where the format has one, is right).</summary>
    Valid,
    /// <summary>Not a secret (wrong structure, failed decode): drop it.</summary>
    Reject,
    /// <summary>Has the shape but the checksum is wrong: a typo, a truncation or a made-up value. Reported at Low.</summary>
    ChecksumMismatch,
    /// <summary>Real format but no longer usable (an expired JWT): reported at Low.</summary>
    Expired,
    /// <summary>A private key protected by a passphrase: reported at Medium.</summary>
    Encrypted,
}

/// <summary>How the engine runs a detector once one of its keywords is seen.</summary>
internal enum DetectorKind
{
    /// <summary>Run <see cref="Detector.Pattern"/> over the line around the keyword.</summary>
    Regex,
    /// <summary>PEM / OpenSSH / PGP / PuTTY private key blocks spanning lines.</summary>
    PrivateKeyBlock,
    /// <summary>A Kubernetes <c>kind: Secret</c> manifest: every value under <c>data:</c>/<c>stringData:</c>.</summary>
    KubernetesSecret,
    /// <summary>Keyword + assignment + entropy (<see cref="GenericDetector"/>).</summary>
    Generic,
    /// <summary>Base64 of a known prefix: decode the run and scan the decoded text.</summary>
    Base64Prefix,
}

/// <summary>
/// One provider format. The engine only runs <see cref="Pattern"/> where one of <see cref="Keywords"/>
/// occurs (matched case-sensitively, so list the spellings: <see cref="Catalog.Cases"/>), which is what
/// keeps a 200 MB scan near memory speed.
/// </summary>
internal sealed class Detector
{
    public required string Id { get; init; }
    public required string Title { get; init; }
    public required Severity Severity { get; init; }
    public required string[] Keywords { get; init; }
    public DetectorKind Kind { get; init; } = DetectorKind.Regex;

    /// <summary>Source-generated; the secret is the group named <c>s</c> or else the whole match.</summary>
    public Regex? Pattern { get; init; }

    public Func<string, ScanContext, Verdict>? Validate { get; init; }

    /// <summary>Only run in files this accepts (e.g. <c>.netrc</c>).</summary>
    public Func<FileContext, bool>? AppliesTo { get; init; }

    /// <summary>Values of this format are usually random: skip the placeholder word list, keep the structural checks.</summary>
    public bool StrictFormat { get; init; } = true;

    /// <summary>Position in the catalog: when two detectors claim overlapping text on a line, the lower index wins.</summary>
    public int Index { get; set; }
}

/// <summary>Per-scan state a validator may need.</summary>
internal sealed class ScanContext(TimeProvider time)
{
    public TimeProvider Time { get; } = time;
}
