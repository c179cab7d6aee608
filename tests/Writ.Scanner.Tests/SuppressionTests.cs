namespace Writ.Scanner.Tests;

/// <summary>Things that look like secrets but are not must stay quiet.</summary>
public sealed class SuppressionTests
{
    [Theory]
    [InlineData("AWS_ACCESS_KEY_ID=AKIA" + "IOSFODNN7" + "EXAMPLE")]
    [InlineData("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCY" + "EXAMPLEKEY")]
    [InlineData("API_KEY=YOUR_API_KEY")]
    [InlineData("token: <token>")]
    [InlineData("DB_PASSWORD=${DB_PASSWORD}")]
    [InlineData("SECRET=changeme")]
    [InlineData("GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    [InlineData("password: ${{ secrets.REGISTRY_PASSWORD }}")]
    [InlineData("api_secret: \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api\"")]
    [InlineData("db_password: \"@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)\"")]
    [InlineData("\"integrity\": \"sha512-Zx3q8bN2vL7mR4tK9pW1sC6dF0gH5jY8uE3iO2aS7dQ==\"")]
    [InlineData("password_hash: \"$2b$12$Kx8bN2vL7mR4tK9pW1sC6dF0gH5jY8uE3iO2aS7dQzXcVbNmLkJhG\"")]
    [InlineData("client_secret = \"3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69\"")]
    [InlineData("STRIPE_PUBLISHABLE_KEY=pk_live_Zx3q8bN2vL7mR4tK9pW1sC6d")]
    [InlineData("deploy_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIZx3q8bN2vL7mR4tK9pW1sC6dF0gH5jY8uE3iO2aS7dQ deploy@ci")]
    [InlineData("token: ghp_****************************")]
    [InlineData("password: \"[REDACTED]\"")]
    [InlineData("max_tokens = 4096")]
    [InlineData("token_endpoint: \"https://auth.acme.io/oauth2/token\"")]
    [InlineData("export DATABASE_URL=postgres://postgres:postgres@localhost:5432/app")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZx3q8bN2vL7mR4tK9pW1sC6dF0gH5jY8uE3iO2aS7dQzXcVbNmLkJhG\n-----END PUBLIC KEY-----")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----")]
    public void Decoy_IsNotReported(string text) => Assert.Empty(WorkspaceScanner.ScanText(text, "config/settings.env"));
}
