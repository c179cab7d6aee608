namespace Writ.Core.Policy;

/// <summary>
/// How the gateway reaches one resource in one environment: the upstream it forwards to, the upstream credential it
/// injects, the route map that turns an HTTP call into an action (anything unmapped is denied), the limits that
/// define "bulk", and how <c>no-cross-account</c> finds the account a call is about. Read from the resource's
/// per-environment settings (<c>upstream</c>, <c>credential</c>, <c>routes</c>, <c>limits</c>, <c>account</c>) and
/// validated with positions when policy loads; see docs/gateway.md.
/// </summary>
public sealed record GatewayTarget(
    Uri Upstream,
    CredentialInjection? Credential,
    RouteTable Routes,
    long? MaxBodyBytes,
    AccountCheck? Account);

/// <summary>Where the upstream secret named <see cref="Secret"/> goes in the forwarded request.</summary>
public abstract record CredentialInjection(string Secret);

/// <summary>A header whose value is <see cref="Template"/> with <c>{secret}</c> replaced (e.g. <c>Authorization: Bearer {secret}</c>).</summary>
public sealed record HeaderInjection(string Secret, string Header, string Template) : CredentialInjection(Secret)
{
    public const string Placeholder = "{secret}";

    public string Render(string secret) => Template.Replace(Placeholder, secret, StringComparison.Ordinal);
}

/// <summary>HTTP Basic (RFC 7617): <c>Authorization: Basic base64(username:secret)</c>.</summary>
public sealed record BasicInjection(string Secret, string Username) : CredentialInjection(Secret);

/// <summary>A query parameter added by the gateway (any parameter of that name sent by the agent is removed first).</summary>
public sealed record QueryInjection(string Secret, string Parameter) : CredentialInjection(Secret);

/// <summary>
/// Where the account of a call is found, for <c>no-cross-account</c>: a named path segment of the matched route
/// (<c>{account}</c>) or a query parameter. The gateway requires it to equal the account in the token's target.
/// </summary>
public sealed record AccountCheck(string? PathParam, string? QueryParam);

/// <summary>One mapped route: method + path pattern → action; <see cref="Bulk"/> marks a route <c>no-bulk</c> refuses.</summary>
public sealed record RouteDef(string Method, string Pattern, string Action, bool Bulk)
{
    internal IReadOnlyList<RouteSegment> Segments { get; init; } = [];
}

/// <summary>Ordered by specificity: a literal beats a one-segment wildcard, which beats <c>**</c>.</summary>
internal enum SegmentKind { Rest = 1, Named = 2, Literal = 3 }

/// <summary>A literal, <c>*</c> (one non-empty segment: Named with an empty name), <c>{name}</c> (one non-empty segment, captured) or <c>**</c> (the rest, zero or more; last only).</summary>
internal readonly record struct RouteSegment(SegmentKind Kind, string Value);

/// <summary>The outcome of matching a call: the route, and the values of its named segments.</summary>
public sealed record RouteMatch(RouteDef Route, IReadOnlyDictionary<string, string> Parameters);

/// <summary>
/// The compiled route map of one resource×environment. Matching works on already-decoded path segments (the gateway
/// decodes once and refuses encoded slashes, dot segments and the like before it gets here). When several routes
/// match, the most specific wins: compared segment by segment, a literal beats <c>*</c>/<c>{name}</c>, which beat
/// <c>**</c>; then the one without a trailing <c>**</c>; then the one declared first. Anything no route matches is denied.
/// </summary>
public sealed class RouteTable
{
    public static RouteTable Empty { get; } = new([]);

    private readonly Dictionary<string, RouteDef[]> _byMethod;

    public RouteTable(IReadOnlyList<RouteDef> routes)
    {
        Routes = routes;
        _byMethod = routes.GroupBy(r => r.Method, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    public IReadOnlyList<RouteDef> Routes { get; }

    /// <summary>The best route for <paramref name="method"/> (upper case) and the decoded <paramref name="segments"/>; null when none matches.</summary>
    public RouteMatch? Match(string method, IReadOnlyList<string> segments) => Match(method, segments, out _);

    /// <summary>
    /// As <see cref="Match(string, IReadOnlyList{string})"/>, and refuses (null, <paramref name="caseLookalike"/> true) a call
    /// whose path differs only in letter case from a route at least as specific as the one it matches. Literals match
    /// case-sensitively, but many upstreams route case-insensitively: without this, <c>/ADMIN/users</c> would miss the
    /// literal <c>/admin/**</c> (action admin), match <c>/{account}/**</c> (action read), and reach the admin handler.
    /// </summary>
    public RouteMatch? Match(string method, IReadOnlyList<string> segments, out bool caseLookalike)
    {
        caseLookalike = false;
        if (!_byMethod.TryGetValue(method, out var candidates)) return null;
        RouteDef? best = null;
        Dictionary<string, string>? bestParams = null;
        RouteDef? lookalike = null;
        foreach (var route in candidates)
        {
            var parameters = TryMatch(route.Segments, segments, StringComparison.Ordinal);
            if (parameters is null)
            {
                if (TryMatch(route.Segments, segments, StringComparison.OrdinalIgnoreCase) is not null
                    && (lookalike is null || Compare(route.Segments, lookalike.Segments) > 0))
                    lookalike = route;
                continue;
            }
            if (best is null || Compare(route.Segments, best.Segments) > 0)
            {
                best = route;
                bestParams = parameters;
            }
        }
        if (lookalike is not null && (best is null || Compare(lookalike.Segments, best.Segments) >= 0))
        {
            caseLookalike = true;
            return null;
        }
        return best is null ? null : new RouteMatch(best, bestParams!);
    }

    private static Dictionary<string, string>? TryMatch(IReadOnlyList<RouteSegment> pattern, IReadOnlyList<string> segments, StringComparison literals)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < pattern.Count; i++)
        {
            var p = pattern[i];
            if (p.Kind == SegmentKind.Rest) return parameters; // ** is last: matches the rest, even nothing
            if (i >= segments.Count) return null;
            var s = segments[i];
            switch (p.Kind)
            {
                case SegmentKind.Literal when !string.Equals(p.Value, s, literals):
                    return null;
                case SegmentKind.Named:
                    if (p.Value.Length > 0)
                    {
                        if (s.Length == 0) return null;
                        parameters[p.Value] = s;
                    }
                    else if (s.Length == 0) return null;
                    break;
            }
        }
        return pattern.Count == segments.Count ? parameters : null;
    }

    /// <summary>Positive when <paramref name="a"/> is more specific than <paramref name="b"/>; ties keep the earlier route.</summary>
    private static int Compare(IReadOnlyList<RouteSegment> a, IReadOnlyList<RouteSegment> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var c = ((int)a[i].Kind).CompareTo((int)b[i].Kind);
            if (c != 0) return c;
        }
        // Both matched and agree on the common part: the longer one only adds a trailing **, so it is the less specific.
        return b.Count.CompareTo(a.Count);
    }
}
