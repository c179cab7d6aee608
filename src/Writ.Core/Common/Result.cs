namespace Writ.Core.Common;

/// <summary>
/// An expected failure (denied, invalid, not found, pending approval), carried as a value.
/// <see cref="Code"/> is stable and documented (e.g. <c>policy.environment_mismatch</c>);
/// <see cref="Message"/> says exactly why, for a human, and never contains a secret.
/// </summary>
public sealed record Error(string Code, string Message)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>Either a value or an <see cref="Error"/>. Exceptions are reserved for bugs and infrastructure failures.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    private Result(T? value, Error? error)
    {
        _value = value;
        Error = error;
    }

    public Error? Error { get; }

    public bool IsSuccess => Error is null;

    public T Value => Error is null ? _value! : throw new InvalidOperationException($"Result is an error: {Error}");

    public static Result<T> Ok(T value) => new(value, null);

    public static Result<T> Fail(Error error) => new(default, error);

    public static Result<T> Fail(string code, string message) => new(default, new Error(code, message));

    public static implicit operator Result<T>(T value) => Ok(value);

    public static implicit operator Result<T>(Error error) => Fail(error);
}
