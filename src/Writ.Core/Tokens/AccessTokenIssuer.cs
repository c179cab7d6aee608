using System.Buffers;
using System.Text.Json;
using Writ.Core.Crypto;

namespace Writ.Core.Tokens;

/// <summary>
/// Issues RFC 9068 JWT access tokens: header <c>{"alg":"ES256","typ":"at+jwt","kid":…}</c>,
/// payload written with <see cref="Utf8JsonWriter"/> into a pooled buffer. One string is the only
/// heap allocation per token besides the signature.
/// </summary>
public static class AccessTokenIssuer
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Signs <paramref name="claims"/> with <paramref name="key"/>.</summary>
    /// <exception cref="ArgumentException">A required claim is empty or the lifetime is not positive — a bug in the caller.</exception>
    public static string Issue(AccessTokenClaims claims, SigningKey key)
    {
        ArgumentNullException.ThrowIfNull(claims);
        ArgumentNullException.ThrowIfNull(key);
        Require(claims.Issuer, "iss");
        Require(claims.Subject, "sub");
        Require(claims.Audience, "aud");
        Require(claims.Scope, "scope");
        Require(claims.Environment, "env");
        Require(claims.TaskId, "task");
        Require(claims.Jti, "jti");
        Require(claims.Jkt, "cnf.jkt");
        Require(claims.ClientId, "client_id");
        var iat = claims.IssuedAt.ToUnixTimeSeconds();
        var exp = claims.ExpiresAt.ToUnixTimeSeconds();
        if (exp <= iat) throw new ArgumentException("an access token must expire after it is issued", nameof(claims));

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);

        writer.WriteStartObject();
        writer.WriteString("iss"u8, claims.Issuer);
        writer.WriteString("sub"u8, claims.Subject);
        writer.WriteString("aud"u8, claims.Audience);
        writer.WriteString("scope"u8, claims.Scope);
        writer.WriteString("env"u8, claims.Environment);
        writer.WriteString("task"u8, claims.TaskId);
        if (claims.Target is not null) writer.WriteString("target"u8, claims.Target);
        writer.WriteString("jti"u8, claims.Jti);
        writer.WriteNumber("iat"u8, iat);
        writer.WriteNumber("exp"u8, exp);
        writer.WriteString("client_id"u8, claims.ClientId);
        writer.WriteStartObject("cnf"u8);
        writer.WriteString("jkt"u8, claims.Jkt);
        writer.WriteEndObject();
        if (claims.OnBehalfOf is not null)
        {
            writer.WriteStartObject("act"u8);
            writer.WriteString("sub"u8, claims.OnBehalfOf);
            writer.WriteEndObject();
        }
        writer.WriteStartArray("restrictions"u8);
        foreach (var r in claims.Restrictions ?? []) writer.WriteStringValue(r);
        writer.WriteEndArray();
        writer.WriteNumber("policy_version"u8, claims.PolicyVersion);
        writer.WriteEndObject();
        writer.Flush();

        var header = key.AccessTokenHeader;
        return Jwt.Create(key, header, buffer.WrittenSpan);
    }

    private static void Require(string? value, string claim)
    {
        if (string.IsNullOrEmpty(value)) throw new ArgumentException($"the {claim} claim is required", claim);
    }
}
