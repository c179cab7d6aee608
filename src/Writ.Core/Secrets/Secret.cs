using System.Text;
using System.Text.RegularExpressions;
using Writ.Core.Common;
using Writ.Core.Crypto;

namespace Writ.Core.Secrets;

/// <summary>One stored version of an upstream secret: its value sealed under the master key (never the plaintext).</summary>
public sealed record SecretVersion(string Name, int Version, byte[] SealedValue, string CreatedBy, DateTimeOffset CreatedAt)
{
    /// <summary>Never prints the sealed bytes either: they are useless without the master key, but a log has no need of them.</summary>
    public override string ToString() => $"SecretVersion {{ Name = {Name}, Version = {Version}, CreatedBy = {CreatedBy}, CreatedAt = {CreatedAt:O} }}";
}

/// <summary>When and by whom one version was written.</summary>
public sealed record SecretVersionMetadata(int Version, string CreatedBy, DateTimeOffset CreatedAt);

/// <summary>What may be shown about a secret: its name and versions. Never its value.</summary>
public sealed record SecretMetadata(string Name, IReadOnlyList<SecretVersionMetadata> Versions)
{
    public int LatestVersion => Versions[^1].Version;

    public DateTimeOffset CreatedAt => Versions[0].CreatedAt;

    /// <summary>When the newest version was written, if the secret was ever rotated.</summary>
    public DateTimeOffset? RotatedAt => Versions.Count > 1 ? Versions[^1].CreatedAt : null;
}

/// <summary>
/// The rules for upstream secrets kept by Writ (DESIGN invariant 4): names, value limits, and the associated
/// data that binds a sealed value to its name and version, so a sealed value copied to another row does not open.
/// </summary>
public static partial class SecretRules
{
    /// <summary>Values are API keys, passwords, tokens: 64 KiB is far more than any of them needs.</summary>
    public const int MaxValueBytes = 64 * 1024;

    public const int MaxNameLength = 128;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    /// <summary>Names are plain identifiers (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>), safe in URLs, logs and policy.</summary>
    public static Error? CheckName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || !NamePattern().IsMatch(name))
            return new Error("secret.invalid_name", $"a secret name is 1 to {MaxNameLength} letters, digits, '.', '_' or '-', starting with a letter or digit");
        return null;
    }

    /// <summary>The value must be non-empty, at most <see cref="MaxValueBytes"/> bytes of UTF-8, and hold no NUL (it ends up in headers).</summary>
    public static Error? CheckValue(string? value)
    {
        if (string.IsNullOrEmpty(value)) return new Error("secret.empty_value", "the secret value is empty");
        if (Encoding.UTF8.GetByteCount(value) > MaxValueBytes) return new Error("secret.too_large", $"a secret value is at most {MaxValueBytes} bytes");
        if (value.Contains('\0')) return new Error("secret.invalid_value", "a secret value cannot contain NUL");
        return null;
    }

    /// <summary>The associated data for <see cref="MasterKey.Seal"/>: binds the value to this name and version.</summary>
    public static string AssociatedData(string name, int version) => $"writ.secret/{name}/v{version}";

    public static byte[] Seal(MasterKey key, string name, int version, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        try
        {
            return key.Seal(bytes, AssociatedData(name, version));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Opens a stored version. Callers zero the returned bytes when done.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Sealed under another master key, altered, or moved to another name/version.</exception>
    public static byte[] Open(MasterKey key, SecretVersion version) => key.Open(version.SealedValue, AssociatedData(version.Name, version.Version));
}
