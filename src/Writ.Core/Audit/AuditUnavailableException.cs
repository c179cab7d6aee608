namespace Writ.Core.Audit;

/// <summary>
/// The audit log could not make a record durable. Whatever needed the record did not happen (invariant 7): the server
/// answers 503 <c>audit.unavailable</c>.
/// </summary>
public sealed class AuditUnavailableException(Exception inner) : Exception("the audit log could not be written", inner);
