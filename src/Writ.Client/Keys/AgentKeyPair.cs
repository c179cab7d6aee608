using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Writ.Client.Keys;

/// <summary>
/// An agent's P-256 key pair: it signs DPoP proofs (RFC 9449) and <c>private_key_jwt</c> client
/// assertions (RFC 7523). Its RFC 7638 <see cref="Thumbprint"/> is what the server binds tokens to.
/// The key file lives outside any workspace (an agent reads its workspace; a key there is exactly
/// the standing secret Writ exists to remove), mode 0600 in a 0700 directory.
/// </summary>
public sealed class AgentKeyPair : IDisposable
{
    /// <summary>Environment variable that overrides <see cref="DefaultPath"/>.</summary>
    public const string KeyFileVariable = "WRIT_KEY_FILE";

    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private AgentKeyPair(ECDsa key)
    {
        var parameters = key.ExportParameters(false);
        if (parameters.Q.X is not { Length: 32 } || parameters.Q.Y is not { Length: 32 })
            throw new CryptographicException("an agent key must be a P-256 key");
        Key = key;
        X = ClientJose.Base64Url(parameters.Q.X);
        Y = ClientJose.Base64Url(parameters.Q.Y);
        PublicJwk = ClientJose.CanonicalJwk(X, Y);
        Thumbprint = ClientJose.Thumbprint(PublicJwk);
    }

    /// <summary>The public key as JWK JSON <c>{"crv":"P-256","kty":"EC","x":…,"y":…}</c>; never contains <c>d</c>.</summary>
    public string PublicJwk { get; }

    /// <summary>RFC 7638 thumbprint of <see cref="PublicJwk"/> (the <c>jkt</c> of RFC 9449 §6.1).</summary>
    public string Thumbprint { get; }

    /// <summary>The agent id (<c>name@environment</c>) this key is enrolled for, saved with the key.</summary>
    public string? AgentId { get; set; }

    /// <summary>The Writ server URL the key is enrolled with, saved with the key.</summary>
    public string? ServerUrl { get; set; }

    internal ECDsa Key { get; }

    internal string X { get; }

    internal string Y { get; }

    public static AgentKeyPair Generate(string? agentId = null, string? serverUrl = null) =>
        new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { AgentId = agentId, ServerUrl = serverUrl };

    /// <summary>
    /// Where an agent's key lives by default: <c>$WRIT_KEY_FILE</c> if set, else
    /// <c>$XDG_CONFIG_HOME/writ/keys/&lt;agent&gt;.json</c>, else <c>~/.config/writ/keys/&lt;agent&gt;.json</c>.
    /// </summary>
    public static string DefaultPath(string agentId) => DefaultPath(agentId, Environment.GetEnvironmentVariable);

    internal static string DefaultPath(string agentId, Func<string, string?> environment)
    {
        ArgumentException.ThrowIfNullOrEmpty(agentId);
        if (environment(KeyFileVariable) is { Length: > 0 } explicitPath) return Path.GetFullPath(explicitPath);
        var configHome = environment("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(configHome) || !Path.IsPathRooted(configHome))
            configHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "writ", "keys", SafeFileName(agentId) + ".json");
    }

    private static string SafeFileName(string agentId)
    {
        var builder = new StringBuilder(agentId.Length);
        foreach (var c in agentId) builder.Append(char.IsAsciiLetterOrDigit(c) || c is '@' or '-' or '_' or '.' ? c : '_');
        var name = builder.ToString();
        return name.Trim('.') is { Length: > 0 } ? name : "agent";
    }

    /// <summary>
    /// Writes the key file: private key as PKCS#8 (base64), public JWK, thumbprint, agent id and server
    /// URL. The file is created 0600 from its first byte (UnixCreateMode), its directory 0700.
    /// An existing file is replaced atomically (written to a temporary name, then renamed).
    /// </summary>
    /// <exception cref="InvalidOperationException">The path is inside the current working directory.</exception>
    public void SaveTo(string path) => SaveTo(path, Environment.CurrentDirectory, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal void SaveTo(string path, string workingDirectory, string home)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        RefuseWorkspace(full, workingDirectory, home);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, DirectoryMode0700);
        }

        var pkcs8 = Key.ExportPkcs8PrivateKey();
        byte[]? json = null;
        var temporary = full + "." + ClientJose.NewJti() + ".tmp";
        try
        {
            using (var stream = new MemoryStream())
            {
                using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("version", 1);
                    if (AgentId is not null) writer.WriteString("agent_id", AgentId);
                    if (ServerUrl is not null) writer.WriteString("server_url", ServerUrl);
                    writer.WriteString("thumbprint", Thumbprint);
                    writer.WritePropertyName("public_jwk");
                    writer.WriteRawValue(PublicJwk);
                    writer.WriteString("private_key_pkcs8", Convert.ToBase64String(pkcs8));
                    writer.WriteEndObject();
                }
                json = stream.ToArray();
                CryptographicOperations.ZeroMemory(stream.GetBuffer());
            }
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode0600;
            using (var file = new FileStream(temporary, options))
            {
                file.Write(json);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            if (json is not null) CryptographicOperations.ZeroMemory(json);
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// Refuses a key path inside the working directory — the agent's workspace. When the working directory is
    /// the home directory or one of its ancestors (e.g. <c>/</c>) it is not a workspace, and the check would
    /// refuse every sensible place, so it is skipped.
    /// </summary>
    private static void RefuseWorkspace(string fullPath, string workingDirectory, string home)
    {
        var cwd = Path.TrimEndingDirectorySeparator(Path.GetFullPath(workingDirectory));
        var homeFull = string.IsNullOrEmpty(home) ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(home));
        if (homeFull is not null && IsInside(homeFull, cwd, orEqual: true)) return;
        if (IsInside(fullPath, cwd, orEqual: false))
            throw new InvalidOperationException(
                $"Refusing to save the agent key at '{fullPath}': it is inside the current working directory, which an agent can read. " +
                $"Use the default location ({DefaultPath("<agent>")}) or set {KeyFileVariable} to a path outside the workspace.");
    }

    private static bool IsInside(string path, string directory, bool orEqual)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (string.Equals(path, directory, comparison)) return orEqual;
        var prefix = directory.EndsWith(Path.DirectorySeparatorChar) ? directory : directory + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    /// <summary>Loads a key file written by <see cref="SaveTo(string)"/>.</summary>
    /// <exception cref="InvalidOperationException">The file is readable by group/others, or it is not a Writ key file.</exception>
    public static AgentKeyPair Load(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & ~FileMode0600) != 0)
                throw new InvalidOperationException(
                    $"The agent key file '{path}' has permissions 0{Convert.ToString((int)mode & 0xFFF, 8)}; it must be readable by its owner only. Run: chmod 600 '{path}'");
        }
        var bytes = File.ReadAllBytes(path);
        byte[]? pkcs8 = null;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("private_key_pkcs8", out var privateKey) || privateKey.ValueKind != JsonValueKind.String)
                throw new InvalidOperationException($"'{path}' is not a Writ agent key file.");
            pkcs8 = privateKey.GetBytesFromBase64();
            var key = ECDsa.Create();
            AgentKeyPair pair;
            try
            {
                key.ImportPkcs8PrivateKey(pkcs8, out _);
                pair = new AgentKeyPair(key);
            }
            catch
            {
                key.Dispose();
                throw;
            }
            if (root.TryGetProperty("thumbprint", out var thumbprint) && thumbprint.GetString() != pair.Thumbprint)
            {
                pair.Dispose();
                throw new InvalidOperationException($"The agent key file '{path}' is inconsistent: its thumbprint does not match its key.");
            }
            pair.AgentId = root.TryGetProperty("agent_id", out var agent) && agent.ValueKind == JsonValueKind.String ? agent.GetString() : null;
            pair.ServerUrl = root.TryGetProperty("server_url", out var server) && server.ValueKind == JsonValueKind.String ? server.GetString() : null;
            return pair;
        }
        catch (Exception e) when (e is JsonException or FormatException or CryptographicException)
        {
            throw new InvalidOperationException($"'{path}' is not a valid Writ agent key file.");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
            if (pkcs8 is not null) CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    public void Dispose() => Key.Dispose();
}
