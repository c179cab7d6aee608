using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Writ.Core.Humans;

/// <summary>
/// PBKDF2-HMAC-SHA512 password hashes, self-describing (<c>pbkdf2-sha512$ITERATIONS$SALT$HASH</c>, base64)
/// so the iteration count can rise later without breaking stored hashes. 210,000 iterations is OWASP's
/// current recommendation for this PRF. Comparison is constant-time.
/// </summary>
public static class PasswordHashing
{
    public const int DefaultIterations = 210_000;
    private const string Scheme = "pbkdf2-sha512";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>
    /// A hash of no password, verified when the user does not exist so that an unknown name costs the same
    /// time as a wrong password (no user enumeration by timing).
    /// </summary>
    public static readonly string Decoy = Hash("decoy password that no one has", DefaultIterations);

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>False for a wrong password and for a stored value that is not a hash this class wrote.</summary>
    public static bool Verify(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        var parts = (stored ?? "").Split('$');
        if (parts.Length != 4 || parts[0] != Scheme) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 10_000 || iterations > 10_000_000) return false;
        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        if (expected.Length != HashBytes) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>What is wrong with a new password, or null. Length is what matters (NIST SP 800-63B §5.1.1.2), not composition rules.</summary>
    public static string? Problem(string? password) =>
        password is null || password.Length < LoginRules.MinPasswordLength ? $"the password must be at least {LoginRules.MinPasswordLength} characters"
        : password.Length > LoginRules.MaxPasswordLength ? $"the password must be at most {LoginRules.MaxPasswordLength} characters"
        : password.Trim().Length == 0 ? "the password must not be blank"
        : null;
}
