using System.Globalization;
using Writ.Core.Approvals;
using Writ.Core.Humans;

namespace Writ.Core.Policy;

/// <summary>Approval groups and rules: names resolve, numbers are in range, and every rule can apply and be met.</summary>
internal sealed partial class PolicyValidator
{
    private const string GroupPrefix = "group:";
    private readonly Dictionary<string, GroupDecl> _groups = new(StringComparer.Ordinal);

    private Dictionary<string, IReadOnlyList<string>> CheckGroups()
    {
        var groups = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var group in _groups.Values)
        {
            CheckName(group.Name, "group");
            foreach (var member in group.Members) CheckUserName(member, $"group {group.Name.Value}");
            if (group.Members.Count == 0)
                Report(PolicyCodes.EmptyGroup, group.Name.Pos, $"group {group.Name.Value} has no members; a rule naming it could never be met");
            groups[group.Name.Value] = group.Members.Select(m => m.Value).ToArray();
        }
        return groups;
    }

    private List<ApprovalRuleDef> CheckApprovals(RoleDecl role, Dictionary<string, IReadOnlyList<string>> permissions,
        Dictionary<string, IReadOnlyList<string>> preapproved, TimeSpan? roleMaxTtl)
    {
        var rules = new List<ApprovalRuleDef>();
        foreach (var decl in role.Approvals)
        {
            var (resource, action) = (decl.Resource.Value, decl.Action.Value);
            var where = $"the approval rule of role {role.Name.Value} for {resource}:{action}";
            if (!permissions.TryGetValue(resource, out var granted) || !granted.Contains(action, StringComparer.Ordinal))
            {
                Report(PolicyCodes.ApprovalRuleUnused, decl.Action.Pos, $"{where} never applies: the role's permissions do not grant {resource}:{action}");
                continue;
            }
            if (action == PolicyActions.Read || (preapproved.TryGetValue(resource, out var pre) && pre.Contains(action, StringComparer.Ordinal)))
            {
                Report(PolicyCodes.ApprovalRuleUnused, decl.Action.Pos, $"{where} never applies: {resource}:{action} needs no approval ({(action == PolicyActions.Read ? "read is allowed by the grant" : "the role pre-approves it")})");
                continue;
            }

            var approvers = ResolveApprovers(decl, where);
            var required = Integer(decl.Required, where, "required", 1, ApprovalRule.MaxRequired) ?? 1;
            var minJustification = Integer(decl.Justification, where, "justification (the minimum length; 0 = not required)", 0, ApprovalRule.MaxJustificationLength)
                ?? ApprovalRule.DefaultMinJustification;
            var maxGrant = Duration(decl.MaxGrant, where, "max_grant", CompiledPolicy.HardCap, PolicyCodes.TtlOverCap) ?? roleMaxTtl ?? CompiledPolicy.HardCap;
            var isElevation = PolicyActions.IsDeleteClass(action);
            if (decl.MaxWindow is { } w && !isElevation)
                Report(PolicyCodes.InvalidApprovalRule, w.Pos, $"{where}: max_window applies to elevations (delete, admin); {action} is approved once");
            if (decl.OwnerMayApprove is { } o && !isElevation)
                Report(PolicyCodes.InvalidApprovalRule, o.Pos, $"{where}: owner_may_approve applies to elevations (delete, admin)");
            var maxWindow = Duration(decl.MaxWindow, where, "max_window", ApprovalRule.WindowCap, PolicyCodes.WindowOverCap) ?? ApprovalRule.DefaultWindow;
            var ownerMayApprove = Boolean(decl.OwnerMayApprove, where, "owner_may_approve") ?? false;

            if (approvers is { Count: > 0 } named && named.Count < required)
                Report(PolicyCodes.ApprovalUnsatisfiable, decl.Action.Pos,
                    $"{where} needs {required} approvals but names only {named.Count} approver{(named.Count == 1 ? "" : "s")} ({string.Join(", ", named)})");

            var rule = new ApprovalRule(approvers ?? [], required, minJustification > 0, minJustification, maxGrant, maxWindow, ownerMayApprove);
            rules.Add(new ApprovalRuleDef(resource, action, rule, new PolicyLocation(decl.Action.Pos.File, decl.Action.Pos.Line, decl.Action.Pos.Column)));
        }
        return rules;
    }

    /// <summary>User names with groups expanded, in order, without duplicates; null when not written (any approver).</summary>
    private List<string>? ResolveApprovers(ApprovalRuleDecl decl, string where)
    {
        if (decl.Approvers is null) return null;
        var names = new List<string>();
        foreach (var entry in decl.Approvers)
        {
            if (entry.Value.StartsWith(GroupPrefix, StringComparison.Ordinal))
            {
                var name = entry.Value[GroupPrefix.Length..];
                if (!_groups.TryGetValue(name, out var group))
                {
                    Report(PolicyCodes.UnknownGroup, entry.Pos, $"{where} names group {name}, which is not declared under 'groups'{Hint(name, _groups.Keys)}");
                    continue;
                }
                names.AddRange(group.Members.Select(m => m.Value).Where(UserNames.IsValid));
            }
            else if (CheckUserName(entry, where))
            {
                names.Add(entry.Value);
            }
        }
        if (decl.Approvers.Count == 0)
            Report(PolicyCodes.ApprovalUnsatisfiable, decl.Action.Pos, $"{where} lists no approvers; leave 'approvers' out to let any approver decide");
        // A written list that names nobody must never compile to "any approver" (an empty list's meaning).
        if (names.Count == 0) return [ApprovalRule.NoOne];
        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    private bool CheckUserName(Located name, string where)
    {
        if (UserNames.IsValid(name.Value)) return true;
        Report(PolicyCodes.InvalidName, name.Pos, $"'{name.Value}' in {where} is not a user name (lower-case letters, digits, '.', '_', '-', '+', '@'; or group:NAME)");
        return false;
    }

    private int? Integer(Located? text, string where, string what, int min, int max)
    {
        if (text is not { } t) return null;
        if (int.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Report(PolicyCodes.InvalidApprovalRule, t.Pos, $"{where}: {what} must be a whole number from {min} to {max}, not '{t.Value}'");
        return null;
    }

    private TimeSpan? Duration(Located? text, string where, string what, TimeSpan cap, string overCapCode)
    {
        if (text is not { } t) return null;
        if (!Ttl.TryParse(t.Value, out var d) || d <= TimeSpan.Zero)
        {
            Report(PolicyCodes.InvalidApprovalRule, t.Pos, $"{where}: {what} '{t.Value}' is not a positive duration like 90s, 15m or 1h");
            return null;
        }
        if (d > cap)
        {
            Report(overCapCode, t.Pos, $"{where}: {what} {t.Value} is over the cap of {Common.Durations.Format(cap)}");
            return null;
        }
        return d;
    }

    private bool? Boolean(Located? text, string where, string what)
    {
        if (text is not { } t) return null;
        if (t.Value is "true" or "false") return t.Value == "true";
        Report(PolicyCodes.InvalidApprovalRule, t.Pos, $"{where}: {what} must be true or false, not '{t.Value}'");
        return null;
    }
}
