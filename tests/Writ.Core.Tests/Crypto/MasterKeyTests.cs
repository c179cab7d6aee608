using System.Security.Cryptography;
using System.Text;
using Writ.Core.Crypto;

namespace Writ.Core.Tests.Crypto;

public sealed class MasterKeyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "writ-mk-" + Guid.NewGuid().ToString("N"));
    private readonly MasterKey _key = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));

    public void Dispose()
    {
        _key.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Seal_ThenOpen_RoundTrips()
    {
        var secret = Encoding.UTF8.GetBytes("postgres://root:hunter2@db/prod");
        var sealedBytes = _key.Seal(secret, "resource:crm:upstream");
        Assert.Equal(secret, _key.Open(sealedBytes, "resource:crm:upstream"));
        Assert.Equal(1, sealedBytes[0]);
        Assert.Equal(89 + secret.Length, sealedBytes.Length);
        Assert.DoesNotContain("hunter2", Encoding.Latin1.GetString(sealedBytes));
    }

    [Fact]
    public void Seal_EmptyPlaintext_RoundTrips()
    {
        Assert.Empty(_key.Open(_key.Seal([], "x"), "x"));
    }

    [Fact]
    public void Seal_Twice_GivesDifferentCiphertexts()
    {
        var a = _key.Seal("same"u8, "ad");
        var b = _key.Seal("same"u8, "ad");
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Open_AnyTamperedByte_Throws()
    {
        var sealedBytes = _key.Seal("top secret value"u8, "ad");
        for (var i = 0; i < sealedBytes.Length; i++)
        {
            var copy = (byte[])sealedBytes.Clone();
            copy[i] ^= 0x01;
            Assert.ThrowsAny<CryptographicException>(() => _key.Open(copy, "ad"));
        }
    }

    [Fact]
    public void Open_Truncated_Throws()
    {
        var sealedBytes = _key.Seal("top secret value"u8, "ad");
        Assert.ThrowsAny<CryptographicException>(() => _key.Open(sealedBytes[..^1], "ad"));
        Assert.ThrowsAny<CryptographicException>(() => _key.Open(sealedBytes[..50], "ad"));
    }

    [Fact]
    public void Open_WithWrongAssociatedData_Throws()
    {
        var sealedBytes = _key.Seal("top secret"u8, "resource:crm");
        Assert.ThrowsAny<CryptographicException>(() => _key.Open(sealedBytes, "resource:billing"));
    }

    [Fact]
    public void Open_WithWrongMasterKey_Throws()
    {
        using var other = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        var sealedBytes = _key.Seal("top secret"u8, "ad");
        Assert.ThrowsAny<CryptographicException>(() => other.Open(sealedBytes, "ad"));
    }

    [Fact]
    public void CreateFile_WritesMode0600_AndLoadReadsTheSameKey()
    {
        var path = Path.Combine(_dir, "sub", "master.key");
        byte[] sealedBytes;
        using (var created = MasterKey.CreateFile(path)) sealedBytes = created.Seal("v"u8, "ad");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
        using var loaded = MasterKey.Load(path);
        Assert.Equal("v"u8.ToArray(), loaded.Open(sealedBytes, "ad"));
    }

    [Fact]
    public void CreateFile_WhenFileExists_RefusesToOverwrite()
    {
        var path = Path.Combine(_dir, "master.key");
        using (MasterKey.CreateFile(path)) { }
        var before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => MasterKey.CreateFile(path));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupRead, "0440")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite, "0602")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "0700")]
    public void Load_FileWithWiderPermissions_IsRefusedWithChmodHint(UnixFileMode mode, string shown)
    {
        if (OperatingSystem.IsWindows()) return;
        var path = Path.Combine(_dir, "master.key");
        using (MasterKey.CreateFile(path)) { }
        File.SetUnixFileMode(path, mode);
        var error = Assert.Throws<InvalidOperationException>(() => MasterKey.Load(path));
        Assert.Contains("chmod 600", error.Message);
        Assert.Contains(shown, error.Message);
        Assert.DoesNotContain(File.ReadAllText(path).Trim(), error.Message);
    }

    [Fact]
    public void Load_ReadOnlyOwnerFile_IsAccepted()
    {
        if (OperatingSystem.IsWindows()) return;
        var path = Path.Combine(_dir, "master.key");
        using (MasterKey.CreateFile(path)) { }
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        using var key = MasterKey.Load(path);
    }

    [Fact]
    public void Load_FileWithoutAKey_IsRefused()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "master.key");
        File.WriteAllText(path, "short", new UTF8Encoding(false));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Throws<InvalidOperationException>(() => MasterKey.Load(path));
    }

    [Fact]
    public void Seal_AfterDispose_Throws()
    {
        var key = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.Seal("x"u8, "ad"));
    }
}
