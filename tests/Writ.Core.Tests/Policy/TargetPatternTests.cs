using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

public sealed class TargetPatternTests
{
    [Theory]
    [InlineData("customers/*", "customers/123", true)]
    [InlineData("customers/*", "customers/", true)]
    [InlineData("customers/*", "customers/1/notes", false)]
    [InlineData("customers/*", "customers", false)]
    [InlineData("customers/**", "customers/1/notes", true)]
    [InlineData("customers/**", "customersx/1", false)]
    [InlineData("vol-*", "vol-123", true)]
    [InlineData("vol-*", "vol-", true)]
    [InlineData("vol-*", "volume", false)]
    [InlineData("vol-*", "vol-1/x", false)]
    [InlineData("*", "anything", true)]
    [InlineData("*", "a/b", false)]
    [InlineData("**", "a/b/c", true)]
    [InlineData("a/*/c", "a/b/c", true)]
    [InlineData("a/*/c", "a/b/b/c", false)]
    [InlineData("a/**/c", "a/b/b/c", true)]
    [InlineData("a/**/c", "a/c", false)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    [InlineData("*-*-*-*-*-*-*-*-*-*x", "a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-a-y", false)]
    public void IsMatch(string pattern, string target, bool expected)
    {
        var compiled = TargetPattern.TryCreate(pattern, out var error);
        Assert.Null(error);
        Assert.Equal(expected, compiled!.IsMatch(target));
    }

    [Theory]
    [InlineData("customers/1", true)]
    [InlineData("vol-123", true)]
    [InlineData("", false)]
    [InlineData("a*", false)]
    [InlineData("a/../b", false)]
    [InlineData("./a", false)]
    [InlineData("/a", false)]
    [InlineData("a/", false)]
    [InlineData("a b", false)]
    [InlineData("a\nb", false)]
    public void IsValidTarget(string target, bool expected) => Assert.Equal(expected, TargetPattern.IsValidTarget(target));
}
