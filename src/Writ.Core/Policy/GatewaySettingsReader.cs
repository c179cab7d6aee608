using System.Globalization;
using System.Text.RegularExpressions;
using Writ.Core.Secrets;

namespace Writ.Core.Policy;

/// <summary>
/// Reads the gateway keys of one resource×environment's settings (<c>upstream</c>, <c>credential</c>, <c>routes</c>,
/// <c>limits</c>, <c>account</c>) into a <see cref="GatewayTarget"/>, reporting every problem with its position.
/// Other keys stay in <see cref="ResourceEnvironmentDef.Settings"/> for other features. Inside the gateway keys,
/// unknown keys are errors (a typo there would silently weaken a check).
/// </summary>
internal sealed partial class GatewaySettingsReader(List<PolicyDiagnostic> diagnostics) : YamlSectionReader(diagnostics)
{
    public static readonly string[] GatewayKeys = ["upstream", "credential", "routes", "limits", "account"];

    private static readonly string[] Methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>Headers the gateway owns or that would change how the message is framed or routed; a credential cannot go there.</summary>
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
        "proxy-connection", "proxy-authenticate", "proxy-authorization", "dpop", "cookie", "set-cookie", "forwarded",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
    };

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Token();

    /// <summary>RFC 3986 pchar without '%' (a literal segment is written decoded, and the gateway compares decoded segments).</summary>
    [GeneratedRegex("^[A-Za-z0-9._~!$&'()+,;=:@-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Literal();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ParamName();

    [GeneratedRegex("^[A-Za-z0-9._~-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex QueryName();

    public GatewayTarget? Read(string resource, string environment, IReadOnlyCollection<string> actions, YMapping settings)
    {
        var context = $"{resource} in {environment}";
        YNode? upstreamNode = null, credentialNode = null, routesNode = null, limitsNode = null, accountNode = null;
        foreach (var (keyNode, value) in settings.Entries)
        {
            if (keyNode is not YScalar { IsNull: false } key) continue; // the reader already reported it
            switch (key.Value)
            {
                case "upstream": upstreamNode = value; break;
                case "credential": credentialNode = value; break;
                case "routes": routesNode = value; break;
                case "limits": limitsNode = value; break;
                case "account": accountNode = value; break;
            }
        }
        if (upstreamNode is null)
        {
            var stray = credentialNode ?? routesNode ?? limitsNode ?? accountNode;
            if (stray is not null) Report(PolicyCodes.MissingField, settings.Pos, $"{context} has gateway settings but no 'upstream' (the base URL calls are forwarded to)");
            return null;
        }

        var before = Diagnostics.Count;
        var upstream = ReadUpstream(upstreamNode, context);
        var credential = credentialNode is null ? null : ReadCredential(credentialNode, context);
        var routes = routesNode is null ? [] : ReadRoutes(routesNode, context, actions);
        var maxBody = limitsNode is null ? null : ReadLimits(limitsNode, context);
        var account = accountNode is null ? null : ReadAccount(accountNode, context, routes);
        if (Diagnostics.Count != before || upstream is null) return null;
        return new GatewayTarget(upstream, credential, new RouteTable(routes), maxBody, account);
    }

    private Uri? ReadUpstream(YNode node, string context)
    {
        if (Scalar(node, $"upstream of {context}") is not { } s) return null;
        if (!Uri.TryCreate(s.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            Report(PolicyCodes.InvalidUpstream, s.Pos, $"upstream of {context} must be an absolute http:// or https:// URL, not '{s.Value}'");
            return null;
        }
        if (uri.UserInfo.Length > 0 || s.Value.Contains('@', StringComparison.Ordinal))
        {
            Report(PolicyCodes.InvalidUpstream, s.Pos, $"upstream of {context} must not carry user info (put the credential in a secret and use 'credential')");
            return null;
        }
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || s.Value.Contains('?', StringComparison.Ordinal) || s.Value.Contains('#', StringComparison.Ordinal))
        {
            Report(PolicyCodes.InvalidUpstream, s.Pos, $"upstream of {context} must have no query or fragment");
            return null;
        }
        return new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/", UriKind.Absolute);
    }

    private CredentialInjection? ReadCredential(YNode node, string context)
    {
        var what = $"credential of {context}";
        if (Mapping(node, what) is not { } map) return null;
        Located? secret = null;
        YNode? inject = null;
        foreach (var (key, value) in Fields(map, what, ["secret", "inject"]))
        {
            if (key.Value == "secret") secret = Scalar(value, "credential secret");
            else inject = value;
        }
        if (secret is null || inject is null)
        {
            if (secret is null && !HasKey(map, "secret")) Report(PolicyCodes.MissingField, map.Pos, $"{what} needs 'secret' (the name given to `writ secret put`)");
            if (inject is null && !HasKey(map, "inject")) Report(PolicyCodes.MissingField, map.Pos, $"{what} needs 'inject' ({{header: …, template: …}}, {{basic: {{username: …}}}} or {{query: NAME}})");
            return null;
        }
        if (SecretRules.CheckName(secret.Value.Value) is not null)
        {
            Report(PolicyCodes.InvalidCredential, secret.Value.Pos, $"'{secret.Value.Value}' is not a valid secret name (letters, digits, '.', '_', '-')");
            return null;
        }
        if (Mapping(inject, $"inject of {context}") is not { } how) return null;
        var fields = Fields(how, $"inject of {context}", ["header", "template", "basic", "query"]).ToList();
        var kinds = fields.Where(f => f.Key.Value is "header" or "basic" or "query").ToList();
        if (kinds.Count != 1)
        {
            Report(PolicyCodes.InvalidCredential, how.Pos, $"inject of {context} needs exactly one of 'header', 'basic' or 'query'");
            return null;
        }
        var (kind, kindValue) = kinds[0];
        var template = fields.FirstOrDefault(f => f.Key.Value == "template");
        if (kind.Value != "header" && template.Value is not null)
        {
            Report(PolicyCodes.InvalidCredential, template.Key.Pos, "'template' only goes with 'header'");
            return null;
        }
        switch (kind.Value)
        {
            case "header":
            {
                if (Scalar(kindValue, "inject header") is not { } header) return null;
                if (!Token().IsMatch(header.Value) || ReservedHeaders.Contains(header.Value))
                {
                    Report(PolicyCodes.InvalidCredential, header.Pos, $"'{header.Value}' cannot carry the credential: use a header name (RFC 9110 token) other than Host, framing, hop-by-hop, Cookie or DPoP headers");
                    return null;
                }
                var text = HeaderInjection.Placeholder;
                if (template.Value is not null)
                {
                    if (Scalar(template.Value, "inject template") is not { } t) return null;
                    var count = CountOf(t.Value, HeaderInjection.Placeholder);
                    if (count != 1 || t.Value.Any(c => char.IsControl(c) && c != '\t'))
                    {
                        Report(PolicyCodes.InvalidCredential, t.Pos, "the template must contain {secret} exactly once and no control characters (e.g. \"Bearer {secret}\")");
                        return null;
                    }
                    text = t.Value;
                }
                return new HeaderInjection(secret.Value.Value, header.Value, text);
            }
            case "basic":
            {
                if (Mapping(kindValue, "inject basic") is not { } basic) return null;
                Located? user = null;
                foreach (var (key, value) in Fields(basic, "inject basic", ["username"])) user = Scalar(value, "basic username");
                if (user is null)
                {
                    if (!HasKey(basic, "username")) Report(PolicyCodes.MissingField, basic.Pos, "basic needs 'username'");
                    return null;
                }
                if (user.Value.Value.Contains(':', StringComparison.Ordinal) || user.Value.Value.Any(char.IsControl))
                {
                    Report(PolicyCodes.InvalidCredential, user.Value.Pos, "a Basic username cannot contain ':' or control characters (RFC 7617 §2)");
                    return null;
                }
                return new BasicInjection(secret.Value.Value, user.Value.Value);
            }
            default:
            {
                if (Scalar(kindValue, "inject query") is not { } name) return null;
                if (!QueryName().IsMatch(name.Value))
                {
                    Report(PolicyCodes.InvalidCredential, name.Pos, $"'{name.Value}' is not a plain query parameter name (letters, digits, '.', '_', '~', '-')");
                    return null;
                }
                return new QueryInjection(secret.Value.Value, name.Value);
            }
        }
    }

    private List<RouteDef> ReadRoutes(YNode node, string context, IReadOnlyCollection<string> actions)
    {
        var routes = new List<RouteDef>();
        if (node is not YSequence seq)
        {
            Report(PolicyCodes.InvalidType, node.Pos, $"routes of {context} must be a list of {{method, path, action}}, not {node.Kind}");
            return routes;
        }
        var seen = new Dictionary<string, SourcePos>(StringComparer.Ordinal);
        foreach (var item in seq.Items)
        {
            if (Mapping(item, $"a route of {context}") is not { } map) continue;
            Located? method = null, path = null, action = null, bulk = null;
            foreach (var (key, value) in Fields(map, $"a route of {context}", ["method", "path", "action", "bulk"]))
            {
                var v = Scalar(value, $"route {key.Value}");
                switch (key.Value)
                {
                    case "method": method = v; break;
                    case "path": path = v; break;
                    case "action": action = v; break;
                    default: bulk = v; break;
                }
            }
            var ok = true;
            foreach (var (field, value) in new[] { ("method", method), ("path", path), ("action", action) })
            {
                if (value is null && !HasKey(map, field))
                {
                    Report(PolicyCodes.MissingField, map.Pos, $"a route of {context} needs '{field}'");
                }
                ok &= value is not null;
            }
            if (!ok) continue;
            var m = method!.Value;
            if (Array.IndexOf(Methods, m.Value) < 0)
            {
                Report(PolicyCodes.InvalidRoute, m.Pos, $"method '{m.Value}' is not one of {string.Join(", ", Methods)} (upper case)");
                ok = false;
            }
            var segments = ParsePattern(path!.Value);
            ok &= segments is not null;
            var a = action!.Value;
            if (!actions.Contains(a.Value))
            {
                Report(PolicyCodes.UnknownAction, a.Pos, $"route maps to action '{a.Value}', but the resource has {string.Join(", ", actions)}");
                ok = false;
            }
            var isBulk = false;
            if (bulk is { } b)
            {
                if (b.Value is "true" or "false") isBulk = b.Value == "true";
                else
                {
                    Report(PolicyCodes.InvalidRoute, b.Pos, "bulk must be true or false");
                    ok = false;
                }
            }
            if (!ok) continue;
            // Two routes with the same method and shape (names aside) would make the action depend on declaration order.
            var shape = m.Value + " " + string.Join('/', segments!.Select(x => x.Kind == SegmentKind.Literal ? "=" + x.Value : x.Kind == SegmentKind.Rest ? "**" : "*"));
            if (seen.TryGetValue(shape, out var first))
            {
                Report(PolicyCodes.DuplicateEntry, path.Value.Pos, $"route {m.Value} {path.Value.Value} matches exactly what the route at {first} matches");
                continue;
            }
            seen[shape] = path.Value.Pos;
            routes.Add(new RouteDef(m.Value, path.Value.Value, a.Value, isBulk) { Segments = segments! });
        }
        return routes;
    }

    /// <summary><c>/customers/{account}/orders/*</c>, <c>/files/**</c>: '/'-separated, starting with '/'; <c>**</c> only last.</summary>
    private List<RouteSegment>? ParsePattern(Located path)
    {
        var p = path.Value;
        if (!p.StartsWith('/'))
        {
            Report(PolicyCodes.InvalidRoute, path.Pos, $"route path '{p}' must start with '/'");
            return null;
        }
        var result = new List<RouteSegment>();
        if (p == "/") return result;
        var parts = p[1..].Split('/');
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part == "**")
            {
                if (i != parts.Length - 1)
                {
                    Report(PolicyCodes.InvalidRoute, path.Pos, $"in route path '{p}', '**' may only be the last segment");
                    return null;
                }
                result.Add(new RouteSegment(SegmentKind.Rest, ""));
            }
            else if (part == "*")
            {
                result.Add(new RouteSegment(SegmentKind.Named, ""));
            }
            else if (part.Length > 2 && part[0] == '{' && part[^1] == '}')
            {
                var name = part[1..^1];
                if (!ParamName().IsMatch(name) || !names.Add(name))
                {
                    Report(PolicyCodes.InvalidRoute, path.Pos, $"in route path '{p}', '{part}' must name a parameter once (letters, digits, '_')");
                    return null;
                }
                result.Add(new RouteSegment(SegmentKind.Named, name));
            }
            else if (part.Length == 0 || part is "." or ".." || !Literal().IsMatch(part))
            {
                Report(PolicyCodes.InvalidRoute, path.Pos,
                    $"in route path '{p}', segment '{part}' is not allowed: segments are non-empty, not '.' or '..', and use letters, digits and -._~!$&'()+,;=:@ (write them decoded, no '%')");
                return null;
            }
            else
            {
                result.Add(new RouteSegment(SegmentKind.Literal, part));
            }
        }
        return result;
    }

    private long? ReadLimits(YNode node, string context)
    {
        if (Mapping(node, $"limits of {context}") is not { } map) return null;
        long? maxBody = null;
        foreach (var (key, value) in Fields(map, $"limits of {context}", ["max_body_bytes"]))
        {
            if (Scalar(value, key.Value) is not { } s) continue;
            if (!long.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
            {
                Report(PolicyCodes.InvalidLimit, s.Pos, $"max_body_bytes must be a positive whole number of bytes, not '{s.Value}'");
                continue;
            }
            maxBody = n;
        }
        return maxBody;
    }

    private AccountCheck? ReadAccount(YNode node, string context, List<RouteDef> routes)
    {
        if (Mapping(node, $"account of {context}") is not { } map) return null;
        var fields = Fields(map, $"account of {context}", ["path_param", "query"]).ToList();
        if (fields.Count != 1)
        {
            Report(PolicyCodes.InvalidAccount, map.Pos, $"account of {context} needs exactly one of 'path_param' or 'query'");
            return null;
        }
        var (key, value) = fields[0];
        if (Scalar(value, $"account {key.Value}") is not { } name) return null;
        if (key.Value == "path_param")
        {
            if (!routes.Any(r => r.Segments.Any(s => s.Kind == SegmentKind.Named && s.Value == name.Value)))
            {
                Report(PolicyCodes.InvalidAccount, name.Pos, $"no route of {context} has a '{{{name.Value}}}' segment");
                return null;
            }
            return new AccountCheck(name.Value, null);
        }
        if (!QueryName().IsMatch(name.Value))
        {
            Report(PolicyCodes.InvalidAccount, name.Pos, $"'{name.Value}' is not a plain query parameter name");
            return null;
        }
        return new AccountCheck(null, name.Value);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
