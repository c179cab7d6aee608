namespace Writ.Server.Hosting;

/// <summary>How one <c>writ server</c> process runs. Validated by <see cref="Validate"/> before anything starts.</summary>
public sealed class WritServerOptions
{
    /// <summary>Where the SQLite file, master key and dev admin token live.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Kestrel URLs (the ASP.NET Core convention). Loopback unless the operator says otherwise.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8430";

    /// <summary>A storage connection string; null means the embedded SQLite file in <see cref="DataDirectory"/>.</summary>
    public string? Database { get; init; }

    /// <summary>Dev mode: create whatever is missing (master key, signing key, demo policy, admin token).</summary>
    public bool Dev { get; init; }

    /// <summary>Policy to apply at start when the store has none yet (dev mode defaults to the demo policy).</summary>
    public string? InitialPolicyPath { get; init; }

    /// <summary>The token issuer; defaults to the first URL. Tokens name it in <c>iss</c>; DPoP <c>htu</c> is checked against it.</summary>
    public string? Issuer { get; init; }

    public string? MasterKeyPath { get; init; }

    /// <summary>In dev mode, replace the admin token (the old one stops working) and print the new one once.</summary>
    public bool ResetAdminToken { get; init; }

    /// <summary>Webhook receivers for approval notifications (e.g. a Slack incoming webhook).</summary>
    public IReadOnlyList<Uri> WebhookUrls { get; init; } = [];

    /// <summary>The file holding the webhook signing key (base64, 0600); default DATA/webhook.key (made on first start).</summary>
    public string? WebhookKeyPath { get; init; }

    /// <summary>Where the one-time admin token is written (stdout by default).</summary>
    public TextWriter Out { get; init; } = Console.Out;

    public string DatabaseOrDefault => Database ?? "sqlite:" + Path.Combine(DataDirectory, "writ.db");

    public string MasterKeyPathOrDefault => MasterKeyPath ?? Path.Combine(DataDirectory, "master.key");

    public string IssuerOrDefault => (Issuer ?? Urls.Split(';', StringSplitOptions.RemoveEmptyEntries)[0]).TrimEnd('/');

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory)) yield return "--data must name a directory";
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(url.Replace("*", "0.0.0.0").Replace("+", "0.0.0.0"), UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
                yield return $"--urls: '{url}' is not an http(s) URL";
        }
        if (Issuer is not null && !Uri.TryCreate(Issuer, UriKind.Absolute, out _)) yield return "--issuer must be an absolute URL";
        foreach (var hook in WebhookUrls)
        {
            if (!hook.IsAbsoluteUri || (hook.Scheme != "http" && hook.Scheme != "https")) yield return $"--webhook: '{hook}' is not an http(s) URL";
        }
    }
}
