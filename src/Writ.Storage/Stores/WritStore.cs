using Writ.Core.Storage;

namespace Writ.Storage.Stores;

internal sealed class WritStore(Engine engine) : IWritStore
{
    public string Engine => engine.Name;

    internal Engine Database => engine;

    public IAgentStore Agents { get; } = new AgentStore(engine);

    public ITaskStore Tasks { get; } = new TaskStore(engine);

    public ICredentialStore Credentials { get; } = new CredentialStore(engine);

    public IPolicyStore Policies { get; } = new PolicyStore(engine);

    public IAuditStore Audit { get; } = new AuditStore(engine);

    public ISigningKeyStore SigningKeys { get; } = new SigningKeyStore(engine);

    public IAdminTokenStore AdminTokens { get; } = new AdminTokenStore(engine);

    public ISecretStore Secrets { get; } = new SecretStore(engine);

    public IUserStore Users { get; } = new UserStore(engine);

    public IApprovalStore Approvals { get; } = new ApprovalStore(engine);

    public IWebhookStore Webhooks { get; } = new WebhookStore(engine);

    public ValueTask DisposeAsync() => engine.DisposeAsync();
}
