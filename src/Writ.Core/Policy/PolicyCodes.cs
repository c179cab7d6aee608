namespace Writ.Core.Policy;

/// <summary>
/// The closed set of stable codes the policy feature emits: load/validation diagnostics and evaluation
/// decisions. They appear in problem+json responses, audit events and CI output, so never rename one.
/// </summary>
public static class PolicyCodes
{
    // ---- load and validation diagnostics ----
    public const string YamlSyntax = "policy.yaml_syntax";
    public const string InvalidType = "policy.invalid_type";
    public const string UnknownKey = "policy.unknown_key";
    public const string DuplicateKey = "policy.duplicate_key";
    public const string DuplicateName = "policy.duplicate_name";
    public const string DuplicateEntry = "policy.duplicate_entry";
    public const string MissingField = "policy.missing_field";
    public const string InvalidName = "policy.invalid_name";
    public const string InvalidAgentId = "policy.invalid_agent_id";
    public const string UnknownEnvironment = "policy.unknown_environment";
    public const string UnknownResource = "policy.unknown_resource";
    public const string UnknownAction = "policy.unknown_action";
    public const string UnknownRole = "policy.unknown_role";
    public const string UnknownRestriction = "policy.unknown_restriction";
    public const string UnknownKind = "policy.unknown_kind";
    public const string MissingOwner = "policy.missing_owner";
    public const string InvalidOwner = "policy.invalid_owner";
    public const string InvalidTtl = "policy.invalid_ttl";
    public const string TtlOverCap = "policy.ttl_over_cap";
    public const string InvalidTarget = "policy.invalid_target";
    public const string PreapprovedNotPermitted = "policy.preapproved_not_permitted";
    public const string BackupSelf = "policy.backup_self";
    public const string ResourceNotInEnvironment = "policy.resource_not_in_environment";
    public const string BackupConflict = "policy.backup_conflict";
    public const string InvalidUpstream = "policy.invalid_upstream";
    public const string InvalidCredential = "policy.invalid_credential";
    public const string InvalidRoute = "policy.invalid_route";
    public const string InvalidLimit = "policy.invalid_limit";
    public const string InvalidAccount = "policy.invalid_account";
    public const string UnknownGroup = "policy.unknown_group";
    public const string EmptyGroup = "policy.empty_group";
    public const string InvalidApprovalRule = "policy.invalid_approval_rule";
    public const string ApprovalRuleUnused = "policy.approval_rule_unused";
    public const string WindowOverCap = "policy.window_over_cap";
    public const string ApprovalUnsatisfiable = "policy.approval_unsatisfiable";
    public const string InvalidMcp = "policy.invalid_mcp";

    // ---- evaluation decisions (ResourceNotInEnvironment, UnknownResource and UnknownAction are shared) ----
    public const string Allow = "policy.allow";
    public const string ApprovalRequired = "policy.approval_required";
    public const string ElevationRequired = "policy.elevation_required";
    public const string UnknownAgent = "policy.unknown_agent";
    public const string EnvironmentMismatch = "policy.environment_mismatch";
    public const string ActionNotGranted = "policy.action_not_granted";
    public const string Restricted = "policy.restricted";
    public const string TargetRequired = "policy.target_required";
    public const string TargetNotAllowed = "policy.target_not_allowed";
    public const string InvalidRequest = "policy.invalid_request";

    // ---- scopes ----
    public const string ScopeInvalid = "scope.invalid";
}
