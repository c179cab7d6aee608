using System.Text.Json.Serialization;

namespace Writ.Storage;

/// <summary>JSON for the few list-valued columns (agent roles), source-generated.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StorageJson : JsonSerializerContext;
