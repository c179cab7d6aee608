using System.Text.Json.Serialization;
using Writ.Core.Approvals;

namespace Writ.Storage;

/// <summary>JSON for the few structured columns (agent and user roles, approval rules and votes), source-generated.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(ApprovalRule))]
[JsonSerializable(typeof(IReadOnlyList<ApprovalVote>))]
internal sealed partial class StorageJson : JsonSerializerContext;
