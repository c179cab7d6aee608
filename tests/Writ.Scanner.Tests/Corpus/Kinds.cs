using System.Text;

namespace Writ.Scanner.Tests.Corpus;

/// <summary>One kind of planted secret: the rule that must find it, a variable name and a value generator.</summary>
/// <param name="Snippet">For formats that live in a file of their own shape: returns the text and the 0-based line that holds the finding.</param>
public sealed record SecretKind(string Rule, string Name, Func<Fakes, string> Value, Func<Fakes, (string Text, int Line, string FileName)>? Snippet = null)
{
    /// <summary>Has a literal prefix, so it survives base64 (the scanner indexes base64 forms of prefixes) and string splitting.</summary>
    public bool Prefixed { get; init; }
}

public static class Kinds
{
    private static SecretKind P(string rule, string name, Func<Fakes, string> value) => new(rule, name, value) { Prefixed = true };
    private static SecretKind N(string rule, string name, Func<Fakes, string> value) => new(rule, name, value);
    private static SecretKind S(string rule, Func<Fakes, (string, int, string)> snippet) => new(rule, "", _ => "", snippet);

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    public static readonly SecretKind[] All =
    [
        P("aws-access-key-id", "AWS_ACCESS_KEY_ID", f => "AK" + "IA" + f.Of(Fakes.Upper + "234567", 16)),
        N("aws-secret-access-key", "aws_secret_access_key", f => f.Of(Fakes.Alnum + "/+", 40)),
        S("gcp-service-account-key", f => ($$"""
            {
              "type": "service_account",
              "project_id": "billing-{{f.Num(5)}}",
              "private_key_id": "{{f.Hex(40)}}",
              "private_key": "{{f.Pem("PRIVATE" + " KEY").Replace("\n", "\\n")}}\n",
              "client_email": "svc@billing.iam.gserviceaccount.com"
            }
            """, 4, "keys/service-account.json")),
        P("gcp-api-key", "GOOGLE_MAPS_KEY", f => "AI" + "za" + f.UrlSafe(35)),
        P("gcp-oauth-client-secret", "GOOGLE_CLIENT_SECRET", f => "GOC" + "SPX-" + f.UrlSafe(28)),
        N("azure-storage-account-key", "AZURE_STORAGE_CONNECTION_STRING", f => $"DefaultEndpointsProtocol=https;AccountName=acct{f.Num(4)};AccountKey={f.B64(64)};EndpointSuffix=core.windows.net"),
        N("azure-sas-token", "BLOB_SAS_URL", f => $"https://acct{f.Num(3)}.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig={Uri.EscapeDataString(f.B64(32))}"),
        N("azure-service-bus-key", "SERVICEBUS_CONNECTION", f => $"Endpoint=sb://ns{f.Num(3)}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={f.B64(32)}"),
        N("azure-ad-client-secret", "AZURE_CLIENT_SECRET", f => f.An(3) + f.Num(1) + "Q~" + f.Of(Fakes.Alnum + "_~.-", 34)),
        P("alibaba-access-key-id", "ALIBABA_ACCESS_KEY_ID", f => "LT" + "AI" + f.An(20)),
        P("digitalocean-token", "DIGITALOCEAN_TOKEN", f => "do" + "p_v1_" + f.Hex(64)),
        P("heroku-api-key", "HEROKU_API_KEY", f => "HR" + "KU-" + f.UrlSafe(60)),
        N("heroku-api-key-legacy", "HEROKU_API_KEY", f => f.Uuid()),
        P("flyio-token", "FLY_API_TOKEN", f => "fo" + "1_" + f.UrlSafe(43)),
        N("cloudflare-api-token", "CLOUDFLARE_API_TOKEN", f => f.UrlSafe(40)),
        P("cloudflare-origin-ca-key", "CF_ORIGIN_CA_KEY", f => "v1.0-" + f.Hex(24) + "-" + f.Hex(146)),
        P("tailscale-key", "TS_AUTHKEY", f => "tsk" + "ey-auth-" + f.An(12) + "-" + f.An(30)),
        P("supabase-token", "SUPABASE_ACCESS_TOKEN", f => "sb" + "p_" + f.Hex(40)),
        P("databricks-token", "DATABRICKS_TOKEN", f => "da" + "pi" + f.Hex(32)),
        P("vault-token", "VAULT_TOKEN", f => "hv" + "s." + f.UrlSafe(90)),
        P("terraform-cloud-token", "TFE_TOKEN", f => f.An(14) + ".atlas" + "v1." + f.UrlSafe(67)),
        P("doppler-token", "DOPPLER_TOKEN", f => "dp." + "pt." + f.An(43)),
        P("pulumi-token", "PULUMI_ACCESS_TOKEN", f => "pu" + "l-" + f.Hex(40)),
        P("github-token", "GITHUB_TOKEN", f => f.Checksummed("gh" + "p_")),
        P("github-fine-grained-pat", "GH_PAT", f => "github" + "_pat_" + f.An(22) + "_" + f.An(59)),
        P("gitlab-pat", "GITLAB_TOKEN", f => "gl" + "pat-" + f.UrlSafe(20)),
        P("gitlab-runner-token", "RUNNER_TOKEN", f => "gl" + "rt-" + f.UrlSafe(20)),
        P("gitlab-deploy-token", "DEPLOY_TOKEN", f => "gl" + "dt-" + f.UrlSafe(20)),
        P("gitlab-trigger-token", "TRIGGER_TOKEN", f => "glp" + "tt-" + f.Hex(40)),
        P("bitbucket-app-password", "BITBUCKET_APP_PASSWORD", f => "AT" + "BB" + f.An(32)),
        P("atlassian-api-token", "JIRA_API_TOKEN", f => "ATA" + "TT3" + f.UrlSafe(186)),
        P("npm-token", "NPM_TOKEN", f => f.Checksummed("np" + "m_")),
        P("pypi-token", "PYPI_TOKEN", f => "py" + "pi-AgEIcHlwaS5vcmc" + f.UrlSafe(70)),
        P("rubygems-token", "GEM_HOST_API_KEY", f => "ruby" + "gems_" + f.Hex(48)),
        P("nuget-api-key", "NUGET_API_KEY", f => "oy" + "2" + f.Of(Fakes.Lower + Fakes.Digits, 43)),
        P("dockerhub-pat", "DOCKERHUB_TOKEN", f => "dckr" + "_pat_" + f.UrlSafe(27)),
        S("docker-config-auth", f => ($$"""
            {
              "auths": {
                "registry.acme.io": {
                  "auth": "{{B64("deploy:" + f.Password())}}"
                }
              }
            }
            """, 3, ".docker/config.json")),
        P("circleci-token", "CIRCLE_TOKEN", f => "CCI" + "PAT_" + f.An(22) + "_" + f.Hex(40)),
        P("buildkite-token", "BUILDKITE_API_TOKEN", f => "bk" + "ua_" + f.Hex(40)),
        P("postman-api-key", "POSTMAN_API_KEY", f => "PM" + "AK-" + f.Hex(24) + "-" + f.Hex(34)),
        P("linear-api-key", "LINEAR_API_KEY", f => "lin" + "_api_" + f.An(40)),
        P("notion-token", "NOTION_TOKEN", f => "nt" + "n_" + f.Num(11) + f.An(35)),
        P("figma-token", "FIGMA_TOKEN", f => "fi" + "gd_" + f.UrlSafe(40)),
        P("sentry-token", "SENTRY_AUTH_TOKEN", f => "sntr" + "yu_" + f.Hex(64)),
        P("newrelic-user-key", "NEW_RELIC_API_KEY", f => "NR" + "AK-" + f.Of(Fakes.Upper + Fakes.Digits, 27)),
        P("grafana-token", "GRAFANA_TOKEN", f => "gl" + "sa_" + f.An(32) + "_" + f.Hex(8)),
        P("dynatrace-token", "DT_API_TOKEN", f => "dt0" + "c01." + f.Of(Fakes.Upper + Fakes.Digits, 24) + "." + f.Of(Fakes.Upper + Fakes.Digits, 64)),
        N("datadog-api-key", "DD_API_KEY", f => f.Hex(32)),
        N("datadog-app-key", "DD_APP_KEY", f => f.Hex(40)),
        P("render-api-key", "RENDER_API_KEY", f => "rn" + "d_" + f.An(32)),
        P("prefect-api-key", "PREFECT_API_KEY", f => "pn" + "u_" + f.An(36)),
        P("age-secret-key", "SOPS_AGE_KEY", f => "AGE-SECRET-" + "KEY-1" + f.Of("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
        P("anthropic-api-key", "ANTHROPIC_API_KEY", f => "sk-" + "ant-api03-" + f.UrlSafe(93) + "AA"),
        P("openrouter-api-key", "OPENROUTER_API_KEY", f => "sk-" + "or-v1-" + f.Hex(64)),
        P("openai-api-key", "OPENAI_API_KEY", f => "sk-" + "proj-" + f.UrlSafe(48) + "T3Blbk" + "FJ" + f.UrlSafe(48)),
        P("huggingface-token", "HF_TOKEN", f => "h" + "f_" + f.Letters(34)),
        P("groq-api-key", "GROQ_API_KEY", f => "gs" + "k_" + f.An(52)),
        P("replicate-token", "REPLICATE_API_TOKEN", f => "r" + "8_" + f.An(37)),
        P("perplexity-api-key", "PPLX_API_KEY", f => "pp" + "lx-" + f.An(48)),
        P("xai-api-key", "XAI_API_KEY", f => "xa" + "i-" + f.An(80)),
        P("langsmith-api-key", "LANGSMITH_API_KEY", f => "ls" + "v2_pt_" + f.Hex(32) + "_" + f.Hex(10)),
        P("pinecone-api-key", "PINECONE_API_KEY", f => "pc" + "sk_" + f.An(60)),
        P("slack-token", "SLACK_BOT_TOKEN", f => "xo" + "xb-" + f.Num(12) + "-" + f.Num(13) + "-" + f.An(24)),
        P("slack-app-token", "SLACK_APP_TOKEN", f => "xa" + "pp-1-A" + f.Of(Fakes.Upper + Fakes.Digits, 10) + "-" + f.Num(13) + "-" + f.Hex(64)),
        P("slack-webhook", "SLACK_WEBHOOK_URL", f => "https://hooks.slack.com/services/T" + f.Of(Fakes.Upper + Fakes.Digits, 8) + "/B" + f.Of(Fakes.Upper + Fakes.Digits, 10) + "/" + f.An(24)),
        P("discord-webhook", "DISCORD_WEBHOOK", f => "https://discord.com/api/web" + "hooks/" + f.Num(18) + "/" + f.UrlSafe(68)),
        N("discord-bot-token", "DISCORD_BOT_TOKEN", f => "M" + f.An(23) + "." + f.UrlSafe(6) + "." + f.UrlSafe(27)),
        N("telegram-bot-token", "TELEGRAM_BOT_TOKEN", f => f.Num(10) + ":AA" + f.UrlSafe(33)),
        P("stripe-live-key", "STRIPE_SECRET_KEY", f => "sk" + "_live_" + f.An(24)),
        P("stripe-test-key", "STRIPE_TEST_KEY", f => "sk" + "_test_" + f.An(24)),
        P("stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET", f => "wh" + "sec_" + f.An(32)),
        P("square-token", "SQUARE_ACCESS_TOKEN", f => "sq0" + "atp-" + f.UrlSafe(22)),
        P("braintree-token", "BRAINTREE_TOKEN", f => "access_token$" + "production$" + f.Of(Fakes.Lower + Fakes.Digits, 16) + "$" + f.Hex(32)),
        P("shopify-token", "SHOPIFY_ACCESS_TOKEN", f => "shp" + "at_" + f.Hex(32)),
        P("shippo-token", "SHIPPO_TOKEN", f => "shippo" + "_live_" + f.Hex(40)),
        P("easypost-api-key", "EASYPOST_API_KEY", f => "EZ" + "AK" + f.An(54)),
        N("twilio-api-key", "TWILIO_API_KEY", f => "SK" + f.Hex(32)),
        N("twilio-auth-token", "TWILIO_AUTH_TOKEN", f => f.Hex(32)),
        P("sendgrid-api-key", "SENDGRID_API_KEY", f => "SG." + f.UrlSafe(22) + "." + f.UrlSafe(43)),
        N("mailgun-api-key", "MAILGUN_API_KEY", f => "key-" + f.Hex(32)),
        N("mailchimp-api-key", "MAILCHIMP_API_KEY", f => f.Hex(32) + "-us" + (1 + f.Random.Next(20))),
        P("mapbox-secret-token", "MAPBOX_SECRET_TOKEN", f => "sk.ey" + "J" + f.UrlSafe(60) + "." + f.UrlSafe(22)),
        N("okta-api-token", "OKTA_API_TOKEN", f => "00" + f.UrlSafe(40)),
        S("private-key", f => (f.Pem("RSA " + "PRIVATE KEY"), 0, "keys/deploy.pem")),
        S("openssh-private-key", f => (f.OpenSsh(), 0, "keys/id_ed25519")),
        S("pgp-private-key", f => (f.Pem("PGP " + "PRIVATE KEY BLOCK"), 0, "keys/signing.asc")),
        S("putty-private-key", f => ($"PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n{f.B64(48)}\n{f.B64(30)}\nPrivate-Lines: 3\n{f.B64(48)}\n{f.B64(48)}\n{f.B64(15)}\nPrivate-MAC: {f.Hex(40)}", 0, "keys/deploy.ppk")),
        S("kubeconfig-client-key", f => ($"apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-certificate-data: {f.B64(60)}\n    client-key-data: {B64(f.Pem("RSA " + "PRIVATE KEY", 300))}\n", 6, ".kube/config")),
        S("kubernetes-secret", f => ($"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\ndata:\n  username: {B64("app")}\n  password: {B64(f.Password())}\n", 7, "deploy/db-secret.yaml")),
        N("jwt", "SESSION_JWT", f => f.Jwt(4102444800)),
        N("database-url-password", "DATABASE_URL", f => "postgres" + "://app_user:" + f.An(16) + "@db.internal:5432/app"),
        N("url-basic-auth", "REPO_URL", f => "https://deploy:" + f.An(20) + "@git.internal.acme.io/org/repo.git"),
        S("connection-string-password", f => ($"  \"Default\": \"Server=tcp:sql.acme.io,1433;Database=app;User ID=app;Password={f.Password()};Encrypt=True;\"", 0, "appsettings.Production.json")),
        S("http-basic-auth-header", f => ($"curl -sS -H \"Authorization: Basic {B64("ci:" + f.Password())}\" https://artifacts.acme.io/api/upload", 0, "scripts/upload.sh")),
        S("http-bearer-token", f => ($"curl -sS -H \"Authorization: Bearer {f.UrlSafe(40)}\" https://api.acme.io/v2/deploy", 0, "scripts/notify-release.sh")),
        S("npmrc-auth", f => ($"registry=https://registry.acme.io/\n//registry.acme.io/:_authToken={f.UrlSafe(36)}\nalways-auth=true", 1, ".npmrc")),
        S("pypirc-password", f => ($"[distutils]\nindex-servers = internal\n\n[internal]\nrepository = https://pypi.acme.io/\nusername = deploy\npassword = {f.Password()}\n", 6, ".pypirc")),
        S("netrc-password", f => ($"machine api.acme.io login deploy password {f.Password()}\n", 0, ".netrc")),
        N("generic-secret", "DB_PASSWORD", f => f.Password()),
        N("generic-secret", "SESSION_SECRET", f => f.An(40)),
        N("generic-secret", "clientSecret", f => f.UrlSafe(32)),
        N("generic-secret", "internal_api_key", f => f.An(32)),
    ];
}
