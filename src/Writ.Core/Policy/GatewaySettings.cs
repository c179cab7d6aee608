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

/// <summary>Why a call that would match a route was refused as a look-alike of another route's literal.</summary>
public enum RouteLookalike
{
    None,
    /// <summary>The path differs only in letter case from a literal of a route.</summary>
    Case,
    /// <summary>A captured segment is a literal of a sibling route plus a format suffix (<c>export.json</c>) or a <c>;</c> parameter.</summary>
    Suffix,
}

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

    /// <summary>
    /// For each route, the literals of other routes (any method) that sit where it captures a segment (<c>{name}</c>,
    /// <c>*</c>, or any position under <c>**</c>) behind a compatible prefix: <c>/customers/{account}</c> has
    /// (1, <c>export</c>) when <c>/customers/export</c> is mapped. Computed once, so a call checks a handful of strings.
    /// </summary>
    private readonly Dictionary<RouteDef, (int Position, string Literal)[]> _siblings = new(ReferenceEqualityComparer.Instance);

    public RouteTable(IReadOnlyList<RouteDef> routes)
    {
        Routes = routes;
        _byMethod = routes.GroupBy(r => r.Method, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        foreach (var route in routes) _siblings[route] = SiblingLiterals(route, routes);
    }

    public IReadOnlyList<RouteDef> Routes { get; }

    /// <summary>The best route for <paramref name="method"/> (upper case) and the decoded <paramref name="segments"/>; null when none matches.</summary>
    public RouteMatch? Match(string method, IReadOnlyList<string> segments) => Match(method, segments, out _);

    /// <summary>
    /// As <see cref="Match(string, IReadOnlyList{string})"/>, and refuses (null, <paramref name="lookalike"/> set) a call
    /// that another route's literal could be hiding in. Literals match case-sensitively, but many upstreams route
    /// case-insensitively or accept format suffixes and path parameters: without this, <c>/ADMIN/users</c> would miss the
    /// literal <c>/admin/**</c> (action admin), match <c>/{account}/**</c> (action read), and reach the admin handler; and
    /// <c>/customers/export.json</c> would be the account <c>export.json</c> to Writ and the bulk export to a Rails or
    /// Spring upstream. So the path must not differ only in case from a route at least as specific as the one it
    /// matches (<see cref="RouteLookalike.Case"/>), and a captured segment must not be a sibling literal written in
    /// another case, or followed by <c>.</c>, <c>;</c> or white space (<see cref="RouteLookalike.Suffix"/>).
    /// </summary>
    public RouteMatch? Match(string method, IReadOnlyList<string> segments, out RouteLookalike lookalike)
    {
        lookalike = RouteLookalike.None;
        if (!_byMethod.TryGetValue(method, out var candidates)) return null;
        RouteDef? best = null;
        Dictionary<string, string>? bestParams = null;
        RouteDef? caseVariant = null;
        IReadOnlyList<string>? folded = null;
        foreach (var route in candidates)
        {
            var parameters = TryMatch(route.Segments, segments, StringComparison.Ordinal);
            if (parameters is null)
            {
                // OrdinalIgnoreCase already folds ASCII; only a path with other characters needs the wider folding.
                folded ??= segments.Any(Common.CaseFolding.NeedsFolding) ? segments.Select(Common.CaseFolding.Fold).ToArray() : segments;
                if (TryMatch(route.Segments, folded, StringComparison.OrdinalIgnoreCase) is not null
                    && (caseVariant is null || Compare(route.Segments, caseVariant.Segments) > 0))
                    caseVariant = route;
                continue;
            }
            if (best is null || Compare(route.Segments, best.Segments) > 0)
            {
                best = route;
                bestParams = parameters;
            }
        }
        if (caseVariant is not null && (best is null || Compare(caseVariant.Segments, best.Segments) >= 0))
        {
            lookalike = RouteLookalike.Case;
            return null;
        }
        if (best is null) return null;
        foreach (var (position, literal) in _siblings[best])
        {
            if (position >= segments.Count) continue;
            var found = Lookalike(segments[position], literal);
            if (found == RouteLookalike.None) continue;
            lookalike = found;
            return null;
        }
        return new RouteMatch(best, bestParams!);
    }

    /// <summary>
    /// Whether a captured <paramref name="value"/> could be <paramref name="literal"/> to a lenient upstream: the same
    /// letters in another case, or the literal followed by a format suffix (<c>.json</c>), trailing dots, a matrix
    /// parameter (<c>;jsessionid=…</c>) or white space. The literal itself, written exactly, is not a look-alike: the
    /// upstream sees what Writ matched.
    /// </summary>
    internal static RouteLookalike Lookalike(string value, string literal)
    {
        var folded = Common.CaseFolding.NeedsFolding(value) ? Common.CaseFolding.Fold(value) : value;
        if (!folded.StartsWith(literal, StringComparison.OrdinalIgnoreCase)) return RouteLookalike.None;
        if (value.Length == literal.Length)
            return string.Equals(value, literal, StringComparison.Ordinal) ? RouteLookalike.None : RouteLookalike.Case;
        var next = folded[literal.Length];
        return next is '.' or ';' || char.IsWhiteSpace(next) ? RouteLookalike.Suffix : RouteLookalike.None;
    }

    private static (int Position, string Literal)[] SiblingLiterals(RouteDef route, IReadOnlyList<RouteDef> routes)
    {
        var found = new HashSet<(int, string)>();
        var mine = route.Segments;
        for (var i = 0; i < mine.Count; i++)
        {
            if (mine[i].Kind == SegmentKind.Literal) continue;
            foreach (var other in routes)
            {
                if (ReferenceEquals(other, route) || !CompatiblePrefix(mine, other.Segments, i)) continue;
                var to = mine[i].Kind == SegmentKind.Rest ? other.Segments.Count : Math.Min(i + 1, other.Segments.Count);
                for (var j = i; j < to; j++)
                {
                    if (other.Segments[j].Kind == SegmentKind.Literal) found.Add((j, other.Segments[j].Value));
                }
            }
        }
        return [.. found];
    }

    /// <summary>Whether some path could match both <paramref name="a"/> and <paramref name="b"/> on their first <paramref name="n"/> segments (literals ignoring case).</summary>
    private static bool CompatiblePrefix(IReadOnlyList<RouteSegment> a, IReadOnlyList<RouteSegment> b, int n)
    {
        if (b.Count <= n) return false;
        for (var j = 0; j < n; j++)
        {
            if (a[j].Kind == SegmentKind.Rest || b[j].Kind == SegmentKind.Rest) return false;
            if (a[j].Kind == SegmentKind.Literal && b[j].Kind == SegmentKind.Literal
                && !string.Equals(a[j].Value, b[j].Value, StringComparison.OrdinalIgnoreCase)) return false;
        }
        return true;
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
