namespace Writ.Core.Policy;

/// <summary>A named group of human approvers: <c>groups: {platform-oncall: [alice, bob]}</c>.</summary>
internal sealed class GroupDecl(Located name)
{
    public Located Name { get; } = name;
    public List<Located> Members { get; } = [];
}

/// <summary>One <c>approvals: {resource: {action: {…}}}</c> entry of a role, as written.</summary>
internal sealed class ApprovalRuleDecl(Located resource, Located action)
{
    public Located Resource { get; } = resource;
    public Located Action { get; } = action;
    public List<Located>? Approvers { get; set; }
    public Located? Required { get; set; }
    public Located? Justification { get; set; }
    public Located? MaxGrant { get; set; }
    public Located? MaxWindow { get; set; }
    public Located? OwnerMayApprove { get; set; }
}

internal sealed partial class PolicyReader
{
    private static readonly string[] ApprovalRuleKeys = ["approvers", "required", "justification", "max_grant", "max_window", "owner_may_approve"];

    private void ReadGroup(Located name, YNode body)
    {
        var group = new GroupDecl(name);
        Decls.Groups.Add(group);
        group.Members.AddRange(Strings(body, $"members of group {name.Value}"));
    }

    /// <summary><c>approvals:</c> maps resource → action → rule; shape only here, meaning in the validator.</summary>
    private void ReadApprovals(RoleDecl role, YNode node)
    {
        if (Map(node, $"approvals of role {role.Name.Value} (a map of resource -> action -> rule)") is not { } byResource) return;
        var seenResources = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (resourceNode, actionsNode) in byResource.Entries)
        {
            if (Key(resourceNode) is not { } resource) continue;
            if (!seenResources.Add(resource.Value))
            {
                Report(PolicyCodes.DuplicateKey, resource.Pos, $"resource {resource.Value} appears twice in the approvals of role {role.Name.Value}");
                continue;
            }
            if (Map(actionsNode, $"approvals of {resource.Value} (a map of action -> rule)") is not { } byAction) continue;
            var seenActions = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (actionNode, ruleNode) in byAction.Entries)
            {
                if (Key(actionNode) is not { } action) continue;
                if (!seenActions.Add(action.Value))
                {
                    Report(PolicyCodes.DuplicateKey, action.Pos, $"action {action.Value} appears twice in the approvals of {resource.Value}");
                    continue;
                }
                var rule = new ApprovalRuleDecl(resource, action);
                role.Approvals.Add(rule);
                if (Map(ruleNode, $"the approval rule for {resource.Value}:{action.Value}", allowNull: true) is not { } fields) continue;
                foreach (var (key, value) in Fields(fields, $"the approval rule for {resource.Value}:{action.Value}", ApprovalRuleKeys))
                {
                    switch (key.Value)
                    {
                        case "approvers": rule.Approvers = Strings(value, "approvers"); break;
                        case "required": rule.Required = Scalar(value, "required"); break;
                        case "justification": rule.Justification = Scalar(value, "justification"); break;
                        case "max_grant": rule.MaxGrant = Scalar(value, "max_grant"); break;
                        case "max_window": rule.MaxWindow = Scalar(value, "max_window"); break;
                        case "owner_may_approve": rule.OwnerMayApprove = Scalar(value, "owner_may_approve"); break;
                    }
                }
            }
        }
    }
}
