using System.Text.Json;

namespace Writ.Core.Tokens;

/// <summary>Typed reads of JWT claims from a payload <see cref="JsonElement"/>; a claim of the wrong JSON type reads as absent.</summary>
internal static class JwtClaims
{
    public static string? String(JsonElement payload, ReadOnlySpan<byte> name) =>
        payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A NumericDate (RFC 7519 §2): an integer number of seconds. Fractions are accepted and truncated.</summary>
    public static long? NumericDate(JsonElement payload, ReadOnlySpan<byte> name)
    {
        if (!payload.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Number) return null;
        if (value.TryGetInt64(out var seconds)) return seconds;
        if (value.TryGetDouble(out var d) && d is > -1e12 and < 1e12) return (long)d;
        return null;
    }

    public static bool HasMember(JsonElement payload, ReadOnlySpan<byte> name) => payload.TryGetProperty(name, out _);

    /// <summary>Seconds since the epoch of <paramref name="clock"/>'s now.</summary>
    public static long Now(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeSeconds();
}
