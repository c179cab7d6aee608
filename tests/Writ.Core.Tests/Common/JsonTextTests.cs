using System.Text;
using System.Text.Json;
using Writ.Core.Common;

namespace Writ.Core.Tests.Common;

public sealed class JsonTextTests
{
    [Theory]
    [InlineData("""{"a":"\udc00"}""")]
    [InlineData("""{"a":"\ud800"}""")]
    [InlineData("""{"a":"\ud800x"}""")]
    [InlineData("""{"\udc00":1}""")]
    [InlineData("""{"a":[1,{"b":"ok","c":"\ud83d"}]}""")]
    public void LoneSurrogateEscape_IsUnreadable(string json)
    {
        // What the check guards: the parser takes it, reading the value throws something that is not a JsonException.
        using var document = JsonDocument.Parse(json);
        Assert.True(JsonText.HasUnreadableString(Encoding.UTF8.GetBytes(json)));
        Assert.True(JsonText.HasUnreadableString(json));
    }

    [Fact]
    public void InvalidUtf8Bytes_AreUnreadable()
    {
        byte[] json = [.. "{\"a\":\""u8, 0xFF, 0xFE, .. "\"}"u8];
        byte[] name = [.. "{\""u8, 0xC3, .. "\":1}"u8];

        Assert.True(JsonText.HasUnreadableString(json));
        Assert.True(JsonText.HasUnreadableString(name));
    }

    [Theory]
    [InlineData("""{"a":"\ud83d\ude00","b":"plain","c":"caf\u00e9 ünïcode","d":[1,true,null,{"e":"\"quoted\""}]}""")]
    [InlineData("""[]""")]
    [InlineData("""{"deep":""" + """[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}""")]
    public void ValidStrings_AreReadable(string json)
    {
        Assert.False(JsonText.HasUnreadableString(Encoding.UTF8.GetBytes(json)));
        Assert.False(JsonText.HasUnreadableString(json));
    }

    [Fact]
    public void NotJson_IsLeftToTheParser()
    {
        Assert.False(JsonText.HasUnreadableString("{\"a\":"u8));
    }

    [Fact]
    public void DotNetStringWithLoneSurrogate_IsUnreadable()
    {
        Assert.True(JsonText.HasUnreadableString("{\"a\":\"x\uDC00\"}"));
    }

    [Fact]
    public void TryGetString_RefusesInsteadOfThrowing()
    {
        var reader = new Utf8JsonReader("\"\\udc00\""u8);
        reader.Read();
        Assert.False(JsonText.TryGetString(ref reader, out var value));
        Assert.Null(value);
    }
}
