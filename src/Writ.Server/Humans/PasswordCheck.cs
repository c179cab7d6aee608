using Writ.Core.Humans;
using Writ.Core.Storage;

namespace Writ.Server.Humans;

/// <summary>What checking a password found.</summary>
internal enum PasswordOutcome
{
    Correct,
    UnknownUser,
    Locked,
    Wrong,
    /// <summary>Wrong, and this attempt reached the limit: the account is now locked.</summary>
    WrongAndLocked,
}

/// <summary>
/// Checks a user's password with the lockout rules, for login and for the re-authentication an approval needs.
/// The attempt is claimed (counted) before the slow hash is computed, so parallel guesses cannot exceed the limit;
/// an unknown name costs the same hash as a wrong password.
/// </summary>
internal sealed class PasswordCheck(IWritStore store, TimeProvider clock)
{
    public async Task<(PasswordOutcome Outcome, User? User)> CheckAsync(string name, string password, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var attempt = await store.Users.ClaimLoginAttemptAsync(name, now, LoginRules.LockoutThreshold, LoginRules.LockoutDuration, ct);
        if (attempt is null)
        {
            PasswordHashing.Verify(password, PasswordHashing.Decoy); // same cost as a real check: no enumeration by timing
            return (PasswordOutcome.UnknownUser, null);
        }
        var user = attempt.User;
        // A locked account is not even checked: guesses during the lockout teach nothing.
        if (!attempt.Claimed) return (PasswordOutcome.Locked, user);
        if (!PasswordHashing.Verify(password, user.PasswordHash))
            return (user.LockedUntil is { } until && until > now ? PasswordOutcome.WrongAndLocked : PasswordOutcome.Wrong, user);
        return (PasswordOutcome.Correct, user);
    }
}
