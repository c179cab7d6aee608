using System.Text.Json;
using Writ.Client.Keys;
using Writ.Core.Crypto;

namespace Writ.Core.Tests.Crypto;

public sealed class AgentKeyPairTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "writ-home-" + Guid.NewGuid().ToString("N"));
    private readonly string _workspace;

    public AgentKeyPairTests()
    {
        _workspace = Path.Combine(_home, "projects", "repo");
        Directory.CreateDirectory(_workspace);
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private string KeyPath => Path.Combine(_home, ".config", "writ", "keys", "bot@staging.json");

    [Fact]
    public void SaveTo_ThenLoad_RoundTripsKeyAgentAndServer()
    {
        using var key = AgentKeyPair.Generate("bot@staging", "https://writ.example");
        key.SaveTo(KeyPath, _workspace, _home);

        using var loaded = AgentKeyPair.Load(KeyPath);

        Assert.Equal(key.Thumbprint, loaded.Thumbprint);
        Assert.Equal(key.PublicJwk, loaded.PublicJwk);
        Assert.Equal("bot@staging", loaded.AgentId);
        Assert.Equal("https://writ.example", loaded.ServerUrl);
    }

    [Fact]
    public void SaveTo_CreatesFile0600InDirectory0700()
    {
        if (OperatingSystem.IsWindows()) return;
        using var key = AgentKeyPair.Generate("bot@staging");
        key.SaveTo(KeyPath, _workspace, _home);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(KeyPath)!));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(KeyPath)!));
    }

    [Fact]
    public void SaveTo_Overwrite_KeepsMode0600()
    {
        if (OperatingSystem.IsWindows()) return;
        using var first = AgentKeyPair.Generate("bot@staging");
        first.SaveTo(KeyPath, _workspace, _home);
        using var second = AgentKeyPair.Generate("bot@staging");
        second.SaveTo(KeyPath, _workspace, _home);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        using var loaded = AgentKeyPair.Load(KeyPath);
        Assert.Equal(second.Thumbprint, loaded.Thumbprint);
    }

    [Fact]
    public void SaveTo_InsideWorkingDirectory_IsRefused()
    {
        using var key = AgentKeyPair.Generate("bot@staging");
        var inWorkspace = Path.Combine(_workspace, ".writ", "key.json");
        var error = Assert.Throws<InvalidOperationException>(() => key.SaveTo(inWorkspace, _workspace, _home));
        Assert.Contains("working directory", error.Message);
        Assert.False(File.Exists(inWorkspace));
    }

    [Fact]
    public void SaveTo_WhenWorkingDirectoryIsHome_IsAllowed()
    {
        using var key = AgentKeyPair.Generate("bot@staging");
        key.SaveTo(KeyPath, _home, _home);
        Assert.True(File.Exists(KeyPath));
    }

    [Fact]
    public void Load_FileReadableByOthers_IsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        using var key = AgentKeyPair.Generate("bot@staging");
        key.SaveTo(KeyPath, _workspace, _home);
        File.SetUnixFileMode(KeyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var error = Assert.Throws<InvalidOperationException>(() => AgentKeyPair.Load(KeyPath));
        Assert.Contains("chmod 600", error.Message);
    }

    [Fact]
    public void SavedFile_HoldsPublicJwkWithoutD_AndPrivateKeyOnlyAsPkcs8()
    {
        using var key = AgentKeyPair.Generate("bot@staging");
        key.SaveTo(KeyPath, _workspace, _home);
        using var doc = JsonDocument.Parse(File.ReadAllText(KeyPath));
        Assert.False(doc.RootElement.GetProperty("public_jwk").TryGetProperty("d", out _));
        Assert.Equal(key.Thumbprint, doc.RootElement.GetProperty("thumbprint").GetString());
        Assert.True(EcJwk.TryParse(key.PublicJwk, out var jwk, out _));
        Assert.Equal(key.Thumbprint, jwk!.Thumbprint);
    }

    [Fact]
    public void Load_TamperedThumbprint_IsRefused()
    {
        using var key = AgentKeyPair.Generate("bot@staging");
        key.SaveTo(KeyPath, _workspace, _home);
        var text = File.ReadAllText(KeyPath).Replace(key.Thumbprint, new string('A', 43));
        File.WriteAllText(KeyPath, text);
        Assert.Throws<InvalidOperationException>(() => AgentKeyPair.Load(KeyPath));
    }

    [Fact]
    public void DefaultPath_UsesXdgConfigHome()
    {
        var path = AgentKeyPair.DefaultPath("bot@staging", name => name == "XDG_CONFIG_HOME" ? "/cfg" : null);
        Assert.Equal(Path.Combine("/cfg", "writ", "keys", "bot@staging.json"), path);
    }

    [Fact]
    public void DefaultPath_FallsBackToDotConfig()
    {
        var path = AgentKeyPair.DefaultPath("bot@staging", _ => null);
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "writ", "keys", "bot@staging.json"), path);
    }

    [Fact]
    public void DefaultPath_WritKeyFileOverrides()
    {
        var path = AgentKeyPair.DefaultPath("bot@staging", name => name == AgentKeyPair.KeyFileVariable ? "/secure/agent.json" : "/cfg");
        Assert.Equal("/secure/agent.json", path);
    }

    [Fact]
    public void DefaultPath_AgentIdCannotEscapeTheKeysDirectory()
    {
        var path = AgentKeyPair.DefaultPath("../../etc/passwd", name => name == "XDG_CONFIG_HOME" ? "/cfg" : null);
        Assert.StartsWith(Path.Combine("/cfg", "writ", "keys") + Path.DirectorySeparatorChar, Path.GetFullPath(path));
    }
}
