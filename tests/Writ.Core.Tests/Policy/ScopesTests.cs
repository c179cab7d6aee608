using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

public sealed class ScopesTests
{
    [Fact]
    public void Parse_SpaceSeparatedTokens_ReturnsPairsInOrder()
    {
        var result = Scopes.Parse("crm:read crm:write volumes:delete");
        Assert.True(result.IsSuccess);
        Assert.Equal([("crm", "read"), ("crm", "write"), ("volumes", "delete")], result.Value);
    }

    [Fact]
    public void Parse_RepeatedToken_IsReturnedOnce()
    {
        Assert.Equal([("crm", "read")], Scopes.Parse("crm:read crm:read").Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("crm:read  crm:write")]
    [InlineData(" crm:read")]
    [InlineData("crm:read ")]
    [InlineData("crm")]
    [InlineData("crm:")]
    [InlineData(":read")]
    [InlineData("crm:read:write")]
    [InlineData("CRM:read")]
    [InlineData("crm:re ad")]
    [InlineData("crm:read\tcrm:write")]
    [InlineData("crm:*")]
    public void Parse_Malformed_IsScopeInvalid(string scope)
    {
        var result = Scopes.Parse(scope);
        Assert.False(result.IsSuccess);
        Assert.Equal("scope.invalid", result.Error!.Code);
    }

    [Fact]
    public void Parse_TooLong_IsScopeInvalid()
    {
        Assert.Equal("scope.invalid", Scopes.Parse(string.Join(' ', Enumerable.Range(0, 100).Select(i => $"r{i}:read"))).Error!.Code);
    }

    [Fact]
    public void Format_IsTheInverseOfParse()
    {
        Assert.Equal("crm:read crm:write", Scopes.Format("crm", ["read", "write"]));
    }
}
