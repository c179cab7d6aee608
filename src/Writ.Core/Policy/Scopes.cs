using Writ.Core.Agents;
using Writ.Core.Common;

namespace Writ.Core.Policy;

/// <summary>
/// OAuth scopes in Writ's shape: <c>resource:action</c> tokens separated by single spaces (RFC 6749 §3.3,
/// <c>scope = scope-token *( SP scope-token )</c>), e.g. <c>crm:read crm:write</c>.
/// </summary>
public static class Scopes
{
    public const int MaxLength = 2048;
    public const int MaxTokens = 64;

    /// <summary>
    /// Parses a scope string into (resource, action) pairs in order, dropping exact repeats. Anything else
    /// (empty, double or leading spaces, a token without exactly one ':', names outside the policy name
    /// grammar) is <c>scope.invalid</c>: a malformed scope must never be half-understood.
    /// </summary>
    public static Result<IReadOnlyList<(string Resource, string Action)>> Parse(string scope)
    {
        if (string.IsNullOrEmpty(scope)) return Invalid("scope is empty; expected e.g. 'crm:read crm:write'");
        if (scope.Length > MaxLength) return Invalid($"scope is longer than {MaxLength} characters");

        var result = new List<(string Resource, string Action)>();
        foreach (var range in scope.AsSpan().Split(' '))
        {
            var token = scope.AsSpan(range);
            if (token.IsEmpty) return Invalid("scope tokens are separated by single spaces, with no leading or trailing space");
            var colon = token.IndexOf(':');
            if (colon < 0 || token.LastIndexOf(':') != colon)
                return Invalid("each scope token is resource:action, e.g. crm:read");
            var resource = token[..colon];
            var action = token[(colon + 1)..];
            if (!AgentId.IsValidName(resource) || !AgentId.IsValidName(action))
                return Invalid("resource and action in a scope are lower-case names (letters, digits, '-', '_', '.')");
            var pair = (resource.ToString(), action.ToString());
            if (!result.Contains(pair)) result.Add(pair);
            if (result.Count > MaxTokens) return Invalid($"scope has more than {MaxTokens} tokens");
        }
        return Result<IReadOnlyList<(string Resource, string Action)>>.Ok(result);
    }

    /// <summary>The canonical scope string for some actions on one resource (<c>crm:read crm:write</c>).</summary>
    public static string Format(string resource, IEnumerable<string> actions) =>
        string.Join(' ', actions.Select(a => $"{resource}:{a}"));

    private static Result<IReadOnlyList<(string Resource, string Action)>> Invalid(string message) =>
        Result<IReadOnlyList<(string Resource, string Action)>>.Fail(PolicyCodes.ScopeInvalid, message);
}
