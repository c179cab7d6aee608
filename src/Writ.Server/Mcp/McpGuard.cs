using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Writ.Core.Policy;
using Writ.Core.Tokens;

namespace Writ.Server.Mcp;

/// <summary>
/// The outcome of checking one MCP call: allowed (with the action it maps to and the arguments the downstream gets,
/// paths normalised) or refused with a stable code and a sentence a model can act on instead of retrying blindly.
/// </summary>
internal sealed record McpVerdict(string? Code, string Message, string? Action, JsonObject? Arguments)
{
    public bool Allowed => Code is null;

    public static McpVerdict Allow(string action, JsonObject? arguments) => new(null, "", action, arguments);

    public static McpVerdict Deny(string code, string message, string? action = null) => new(code, message, action, null);
}

/// <summary>
/// Policy for MCP calls, in the order the HTTP gateway uses: the name must match a rule (anything unknown is denied), the
/// rule's action must be in the credential's scope (else: approval required, not granted, or ask for the scope), and
/// every argument constraint must hold. Pure except for path normalisation, which reads the filesystem.
/// </summary>
internal static class McpGuard
{
    public const string Unknown = "mcp.unknown_name";
    public const string NotInScope = "mcp.action_not_in_scope";
    public const string ApprovalRequired = "mcp.approval_required";
    public const string NotGranted = "mcp.action_not_granted";
    public const string BadArguments = "mcp.bad_arguments";
    public const string ArgumentDenied = "mcp.argument_denied";

    public static McpVerdict CheckTool(McpServerTarget target, string resource, AccessTokenClaims claims, CompiledPolicy? policy, string? name, JsonNode? arguments)
    {
        var rule = target.Tools.Match(name);
        if (rule is null)
            return McpVerdict.Deny(Unknown, $"the tool '{Shown(name)}' is not allowed on {resource}: only tools named in policy can be called (names are exact and case-sensitive)");
        if (Scope(rule.Action, resource, claims, policy, $"the tool '{name}'") is { } refused) return refused;

        JsonObject? args;
        if (arguments is null) args = null;
        else if (arguments is JsonObject o) args = (JsonObject)o.DeepClone();
        else return McpVerdict.Deny(BadArguments, $"the arguments of '{name}' must be a JSON object", rule.Action);

        foreach (var (argName, constraint) in rule.Arguments)
        {
            var value = args?[argName];
            if (value is null)
            {
                if (constraint.Required) return McpVerdict.Deny(ArgumentDenied, $"'{name}' needs the argument '{argName}' under policy", rule.Action);
                continue;
            }
            if (constraint.MaxBytes is { } max && Encoding.UTF8.GetByteCount(value.ToJsonString()) > max)
                return McpVerdict.Deny(ArgumentDenied, $"the argument '{argName}' of '{name}' is longer than the {max} bytes policy allows", rule.Action);
            if (constraint.Values.Count > 0)
            {
                var text = value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
                if (!constraint.Values.Contains(text, StringComparer.Ordinal))
                    return McpVerdict.Deny(ArgumentDenied, $"the argument '{argName}' of '{name}' must be one of: {string.Join(", ", constraint.Values)}", rule.Action);
            }
            if (constraint.PathGlobs.Count > 0)
            {
                var checkedValue = CheckPaths(value, constraint, argName, name!);
                if (checkedValue.Error is { } error) return McpVerdict.Deny(ArgumentDenied, error, rule.Action);
                args![argName] = checkedValue.Value;
            }
        }
        return McpVerdict.Allow(rule.Action, args);
    }

    public static McpVerdict CheckResource(McpServerTarget target, string resource, AccessTokenClaims claims, CompiledPolicy? policy, string? uri)
    {
        if (uri is not null && uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            // A file URI is judged, like a path argument, by the real file it names.
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Host.Length > 0 || McpPaths.Normalise(u.LocalPath, out _) is not { } real)
                return McpVerdict.Deny(ArgumentDenied, "the file URI must be file:///absolute/path without '..' tricks");
            uri = "file://" + real;
        }
        var rule = target.Resources.Match(uri);
        if (rule is null) return McpVerdict.Deny(Unknown, $"the resource '{Shown(uri)}' is not allowed on {resource}: only URIs matching policy can be read");
        return Scope(rule.Action, resource, claims, policy, $"the resource '{uri}'") ?? McpVerdict.Allow(rule.Action, null);
    }

    public static McpVerdict CheckPrompt(McpServerTarget target, string resource, AccessTokenClaims claims, CompiledPolicy? policy, string? name)
    {
        var rule = target.Prompts.Match(name);
        if (rule is null) return McpVerdict.Deny(Unknown, $"the prompt '{Shown(name)}' is not allowed on {resource}: only prompts named in policy can be used");
        return Scope(rule.Action, resource, claims, policy, $"the prompt '{name}'") ?? McpVerdict.Allow(rule.Action, null);
    }

    /// <summary>True when <paramref name="name"/> is something the caller could use, for filtering the <c>*/list</c> answers.</summary>
    public static bool Listable(McpRuleSet rules, string resource, AccessTokenClaims claims, string? name) =>
        rules.Match(name) is { } rule && claims.HasScope(resource + ":" + rule.Action);

    /// <summary>
    /// The credential must carry <c>resource:action</c>. When it does not, the policy in force says why: the role grants it
    /// only with a human approval (invariant 5), does not grant it at all, or grants it and the agent should ask for it.
    /// </summary>
    private static McpVerdict? Scope(string action, string resource, AccessTokenClaims claims, CompiledPolicy? policy, string what)
    {
        var scope = resource + ":" + action;
        if (claims.HasScope(scope)) return null;
        var decision = policy?.Evaluate(new AccessRequest(claims.Subject, claims.Environment, resource, [action], claims.Target, null));
        return decision?.Kind switch
        {
            DecisionKind.ApprovalRequired or DecisionKind.ElevationRequired => McpVerdict.Deny(ApprovalRequired, HowToAsk(what, scope, claims, decision.Kind), action),
            DecisionKind.Allow => McpVerdict.Deny(NotInScope,
                $"{what} is {scope}, which this session's credential does not include; it was not attempted. Start a session with scope {scope} to use it.", action),
            _ => McpVerdict.Deny(NotGranted, $"{what} is {scope}, which the policy does not grant to {claims.Subject}; it was not attempted.", action),
        };
    }

    /// <summary>
    /// The refusal of a tool that needs a human (invariant 5) says how to ask through the approval flow, for both kinds of
    /// client: <c>writ mcp-proxy</c>'s flags, and the <c>/oauth/token</c> parameters. It never names the approvers: the
    /// model reading it is not the place to learn whom to pressure.
    /// </summary>
    private static string HowToAsk(string what, string scope, AccessTokenClaims claims, DecisionKind kind)
    {
        var elevation = kind == DecisionKind.ElevationRequired;
        var target = elevation ? claims.Target ?? "TARGET" : null;
        var needs = elevation ? "a written justification and a human's approval of a time-limited elevation on one target" : "a written justification and a human's approval";
        var flags = elevation ? $"--scope {scope} --target {target} --justification \"why\"" : $"--scope {scope} --justification \"why\"";
        var form = elevation ? $"scope={scope}, target={target} and justification=\"why\"" : $"scope={scope} and justification=\"why\"";
        return $"{what} is {scope}, which needs {needs} before {claims.Subject} may use it; it was not attempted. " +
               $"To ask: restart writ mcp-proxy with {flags} (it waits for the approval), or over HTTP request a token at /oauth/token with {form} for this task (the approval flow) and call again with it.";
    }

    private static (JsonNode? Value, string? Error) CheckPaths(JsonNode value, McpArgumentRule constraint, string argName, string tool)
    {
        if (value is JsonArray list)
        {
            var result = new JsonArray();
            foreach (var item in list)
            {
                var one = CheckPaths(item ?? JsonValue.Create(""), constraint, argName, tool);
                if (one.Error is not null) return one;
                result.Add(one.Value);
            }
            return (result, null);
        }
        if (value.GetValueKind() != JsonValueKind.String) return (null, $"the argument '{argName}' of '{tool}' must be a path string");
        var raw = value.GetValue<string>();
        if (McpPaths.Normalise(raw, out var error) is not { } real) return (null, $"the path in '{argName}' of '{tool}' is refused: {error}");
        if (!constraint.PathAllowed(real))
            return (null, $"the path in '{argName}' of '{tool}' resolves to {Shown(real)}, which is outside what policy allows ({string.Join(", ", constraint.PathGlobs)})");
        return (JsonValue.Create(real), null);
    }

    /// <summary>A name as shown in a refusal: bounded, and with anything non-printable escaped so the model sees the trick.</summary>
    public static string Shown(string? name)
    {
        if (name is null) return "(none)";
        var sb = new StringBuilder();
        foreach (var c in name.Length > 128 ? name[..128] : name)
        {
            if (c is >= ' ' and <= '~') sb.Append(c);
            else sb.Append($"\\u{(int)c:x4}");
        }
        return sb.ToString();
    }
}
