using Writ.Core.Approvals;
using Writ.Core.Humans;

namespace Writ.Core.Policy;

/// <summary>
/// Checks a policy against the server's human users: an approval rule that no set of existing, active
/// approvers could satisfy (too few eligible people once the agent's owner is set aside by the two-person
/// rule) would leave an agent waiting forever. Run by <c>writ policy validate --server</c> and at apply.
/// </summary>
public static class ApprovalFeasibility
{
    public static IReadOnlyList<PolicyDiagnostic> Check(PolicyModel policy, IReadOnlyCollection<User> users)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(users);
        var approvers = users.Where(u => u.IsActive && u.Has(HumanRoles.Approver)).Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        var problems = new List<PolicyDiagnostic>();
        var reported = new HashSet<(string, string, string)>();

        foreach (var agent in policy.Agents.Values)
        {
            foreach (var roleName in agent.Roles)
            {
                if (!policy.Roles.TryGetValue(roleName, out var role)) continue;
                foreach (var (resource, action, rule, location) in RulesOf(role))
                {
                    var eligible = approvers.Where(a => rule.AnyApprover || rule.Approvers.Contains(a, StringComparer.Ordinal)).ToList();
                    var ownerExcluded = PolicyActions.IsDeleteClass(action) && !rule.OwnerMayApprove && eligible.RemoveAll(a => UserNames.SamePerson(a, agent.Owner)) > 0;
                    if (eligible.Count >= rule.Required || !reported.Add((role.Name, resource + ":" + action, agent.Id))) continue;
                    var who = rule.AnyApprover ? "users with the approver role" : $"active approvers among {string.Join(", ", rule.Approvers)}";
                    problems.Add(new PolicyDiagnostic(PolicyCodes.ApprovalUnsatisfiable,
                        $"nobody can approve {resource}:{action} for {agent.Id} (role {role.Name}): it needs {rule.Required}, and the {who} " +
                        $"{(eligible.Count == 0 ? "are none" : "are only " + string.Join(", ", eligible))}" +
                        (ownerExcluded ? $" ({agent.Owner} owns the agent and may not approve its elevations)" : "") +
                        " — add users (writ user add NAME --role approver) or change the rule",
                        location.File, location.Line, location.Column));
                }
            }
        }
        return problems;
    }

    /// <summary>Every action of the role that needs a human, with its rule: the written one or the default.</summary>
    private static IEnumerable<(string Resource, string Action, ApprovalRule Rule, PolicyLocation Location)> RulesOf(RoleDef role)
    {
        foreach (var (resource, actions) in role.Permissions)
        {
            role.Preapproved.TryGetValue(resource, out var preapproved);
            foreach (var action in actions)
            {
                if (action == PolicyActions.Read || preapproved?.Contains(action, StringComparer.Ordinal) == true) continue;
                var written = role.Approvals.FirstOrDefault(a => a.Resource == resource && a.Action == action);
                var maxTtl = role.MaxTtl ?? CompiledPolicy.HardCap;
                yield return (resource, action, written?.Rule ?? ApprovalRule.Default(maxTtl),
                    written?.Location ?? role.Location ?? new PolicyLocation("(policy)", 0, 0));
            }
        }
    }
}
