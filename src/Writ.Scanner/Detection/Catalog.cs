using System.Text.RegularExpressions;

namespace Writ.Scanner.Detection;

/// <summary>
/// Every provider format Writ knows. Patterns are source-generated and bounded (every quantifier has an
/// upper limit or runs over a class that cannot overlap what follows), so no input can make them backtrack
/// catastrophically; they only ever run on the line around a keyword hit.
/// Order matters: when two detectors claim overlapping text on a line, the earlier one wins, so specific
/// formats come before the URL, assignment and generic detectors.
/// </summary>
internal static partial class Catalog
{
    private const RegexOptions O = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;

    /// <summary>The usual spellings of a keyword in identifiers: lower, UPPER, Capitalised.</summary>
    public static string[] Cases(params string[] words) =>
        words.SelectMany(w => new[] { w.ToLowerInvariant(), w.ToUpperInvariant(), char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant(), w })
             .Distinct(StringComparer.Ordinal).ToArray();

    public static IReadOnlyList<Detector> All { get; } = Build();

    private static Detector R(string id, string title, Severity severity, Regex pattern, string[] keywords,
        Func<string, ScanContext, Verdict>? validate = null, Func<FileContext, bool>? appliesTo = null, bool strict = true) =>
        new() { Id = id, Title = title, Severity = severity, Pattern = pattern, Keywords = keywords, Validate = validate, AppliesTo = appliesTo, StrictFormat = strict };

    private static Detector[] Build()
    {
        Detector[] list =
        [
            // --- Cloud providers
            R("aws-access-key-id", "AWS access key ID", Severity.High, AwsKeyId(), ["AKIA", "ASIA", "ABIA", "ACCA"]),
            R("aws-secret-access-key", "AWS secret access key", Severity.Critical, AwsSecret(),
                [.. Cases("secret_access_key", "secretaccesskey", "aws_secret_key", "awssecretkey"), "SecretAccessKey", "AwsSecretKey"]),
            R("gcp-service-account-key", "GCP service account private key", Severity.Critical, GcpPrivateKey(), ["\"private_key\""]),
            R("gcp-api-key", "Google API key", Severity.High, GoogleApiKey(), ["AIza"]),
            R("gcp-oauth-client-secret", "Google OAuth client secret", Severity.High, GoogleOAuthSecret(), ["GOCSPX-"]),
            R("azure-storage-account-key", "Azure storage connection string (AccountKey)", Severity.Critical, AzureAccountKey(), Cases("AccountKey=")),
            R("azure-sas-token", "Azure shared access signature", Severity.High, AzureSas(), ["sig="], Validators.AzureSas),
            R("azure-service-bus-key", "Azure Service Bus / Event Hubs SharedAccessKey", Severity.High, AzureSharedAccessKey(), Cases("SharedAccessKey=")),
            R("azure-ad-client-secret", "Azure AD (Entra ID) client secret", Severity.High, AzureAdSecret(), ["Q~"]),
            R("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", Severity.High, AlibabaKey(), ["LTAI"]),
            R("digitalocean-token", "DigitalOcean token", Severity.High, DigitalOcean(), ["dop_v1_", "doo_v1_", "dor_v1_"]),
            R("heroku-api-key", "Heroku API key", Severity.High, HerokuNew(), ["HRKU-"]),
            R("heroku-api-key-legacy", "Heroku API key (legacy UUID)", Severity.High, HerokuLegacy(), Cases("heroku"), strict: false),
            R("flyio-token", "Fly.io token", Severity.High, FlyIo(), ["fo1_", "FlyV1 "]),
            R("cloudflare-api-token", "Cloudflare API token", Severity.High, CloudflareToken(), Cases("cloudflare"), strict: false),
            R("cloudflare-origin-ca-key", "Cloudflare Origin CA key", Severity.High, CloudflareOriginCa(), ["v1.0-"]),
            R("tailscale-key", "Tailscale key", Severity.High, Tailscale(), ["tskey-"]),
            R("supabase-token", "Supabase access token", Severity.High, Supabase(), ["sbp_"]),
            R("databricks-token", "Databricks token", Severity.High, Databricks(), ["dapi"]),
            R("vault-token", "HashiCorp Vault token", Severity.Critical, VaultToken(), ["hvs.", "hvb."]),
            R("terraform-cloud-token", "Terraform Cloud / Enterprise token", Severity.High, TerraformCloud(), [".atlasv1."]),
            R("doppler-token", "Doppler token", Severity.High, Doppler(), ["dp.pt.", "dp.st.", "dp.sa.", "dp.ct."]),
            R("pulumi-token", "Pulumi access token", Severity.High, Pulumi(), ["pul-"]),

            // --- Source hosting and package registries
            R("github-token", "GitHub token (classic)", Severity.Critical, GitHubClassic(), ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"], Validators.Base62Crc32),
            R("github-fine-grained-pat", "GitHub fine-grained personal access token", Severity.Critical, GitHubFineGrained(), ["github_pat_"]),
            R("gitlab-pat", "GitLab personal access token", Severity.Critical, GitLabPat(), ["glpat-"]),
            R("gitlab-runner-token", "GitLab runner token", Severity.High, GitLabRunner(), ["glrt-", "GR1348941"]),
            R("gitlab-deploy-token", "GitLab deploy token", Severity.High, GitLabDeploy(), ["gldt-"]),
            R("gitlab-trigger-token", "GitLab pipeline trigger token", Severity.Medium, GitLabTrigger(), ["glptt-"]),
            R("bitbucket-app-password", "Bitbucket app password", Severity.High, BitbucketAppPassword(), ["ATBB"]),
            R("atlassian-api-token", "Atlassian API token", Severity.High, AtlassianToken(), ["ATATT3"]),
            R("npm-token", "npm access token", Severity.Critical, NpmToken(), ["npm_"], Validators.Base62Crc32),
            R("pypi-token", "PyPI upload token", Severity.Critical, PyPiToken(), ["pypi-AgEI"]),
            R("rubygems-token", "RubyGems API key", Severity.High, RubyGems(), ["rubygems_"]),
            R("nuget-api-key", "NuGet API key", Severity.High, NuGet(), ["oy2"]),
            R("dockerhub-pat", "Docker Hub personal access token", Severity.High, DockerHubPat(), ["dckr_pat_"]),
            R("docker-config-auth", "Docker registry credentials (config.json auths)", Severity.High, DockerConfigAuth(), ["\"auth\""], Validators.BasicPair),

            // --- CI/CD and developer tooling
            R("circleci-token", "CircleCI personal token", Severity.High, CircleCi(), ["CCIPAT_"]),
            R("buildkite-token", "Buildkite API token", Severity.High, Buildkite(), ["bkua_"]),
            R("postman-api-key", "Postman API key", Severity.High, Postman(), ["PMAK-"]),
            R("linear-api-key", "Linear API key", Severity.High, Linear(), ["lin_api_"]),
            R("notion-token", "Notion integration token", Severity.High, Notion(), ["ntn_", "secret_"]),
            R("figma-token", "Figma personal access token", Severity.High, Figma(), ["figd_"]),
            R("sentry-token", "Sentry auth token", Severity.High, Sentry(), ["sntrys_", "sntryu_"]),
            R("newrelic-user-key", "New Relic user API key", Severity.High, NewRelic(), ["NRAK-"]),
            R("grafana-token", "Grafana Cloud / service account token", Severity.High, Grafana(), ["glc_", "glsa_"]),
            R("dynatrace-token", "Dynatrace API token", Severity.High, Dynatrace(), ["dt0c01."]),
            R("datadog-api-key", "Datadog API key", Severity.High, DatadogApi(),
                [.. Cases("dd_api_key", "datadog_api_key", "ddapikey", "datadogapikey"), "DdApiKey", "DatadogApiKey", "ddApiKey", "datadogApiKey"], strict: false),
            R("datadog-app-key", "Datadog application key", Severity.High, DatadogApp(),
                [.. Cases("dd_app_key", "datadog_app_key", "dd_application_key", "datadog_application_key", "ddappkey"), "ddAppKey", "DdAppKey"], strict: false),
            R("render-api-key", "Render API key", Severity.High, Render(), ["rnd_"]),
            R("prefect-api-key", "Prefect API key", Severity.High, Prefect(), ["pnu_"]),
            R("age-secret-key", "age secret key", Severity.Critical, AgeKey(), ["AGE-SECRET-KEY-1"]),

            // --- AI providers
            R("anthropic-api-key", "Anthropic API key", Severity.Critical, Anthropic(), ["sk-ant-"]),
            R("openrouter-api-key", "OpenRouter API key", Severity.High, OpenRouter(), ["sk-or-v1-"]),
            R("openai-api-key", "OpenAI API key", Severity.Critical, OpenAi(), ["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"]),
            R("huggingface-token", "Hugging Face token", Severity.High, HuggingFace(), ["hf_", "api_org_"]),
            R("groq-api-key", "Groq API key", Severity.High, Groq(), ["gsk_"]),
            R("replicate-token", "Replicate API token", Severity.High, Replicate(), ["r8_"]),
            R("perplexity-api-key", "Perplexity API key", Severity.High, Perplexity(), ["pplx-"]),
            R("xai-api-key", "xAI API key", Severity.High, XAi(), ["xai-"]),
            R("langsmith-api-key", "LangSmith API key", Severity.High, LangSmith(), ["lsv2_"]),
            R("pinecone-api-key", "Pinecone API key", Severity.High, Pinecone(), ["pcsk_"]),

            // --- Messaging, payments, SaaS
            R("slack-token", "Slack token", Severity.Critical, SlackToken(), ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxe."]),
            R("slack-app-token", "Slack app-level token", Severity.High, SlackAppToken(), ["xapp-"]),
            R("slack-webhook", "Slack incoming webhook", Severity.Medium, SlackWebhook(), ["hooks.slack.com/"]),
            R("discord-webhook", "Discord webhook", Severity.Medium, DiscordWebhook(), ["discord.com/api/webhooks", "discordapp.com/api/webhooks"]),
            R("discord-bot-token", "Discord bot token", Severity.High, DiscordBot(), Cases("discord"), strict: false),
            R("telegram-bot-token", "Telegram bot token", Severity.High, Telegram(), [":AA"]),
            R("stripe-live-key", "Stripe live secret / restricted key", Severity.Critical, StripeLive(), ["sk_live_", "rk_live_"]),
            R("stripe-test-key", "Stripe test-mode key", Severity.Low, StripeTest(), ["sk_test_", "rk_test_"]),
            R("stripe-webhook-secret", "Stripe webhook signing secret", Severity.Medium, StripeWebhook(), ["whsec_"]),
            R("square-token", "Square access token / secret", Severity.High, Square(), ["EAAA", "sq0atp-", "sq0csp-"]),
            R("braintree-token", "Braintree / PayPal access token", Severity.Critical, Braintree(), ["access_token$production$"]),
            R("shopify-token", "Shopify access token / shared secret", Severity.High, Shopify(), ["shpat_", "shpca_", "shppa_", "shpss_"]),
            R("shippo-token", "Shippo live token", Severity.High, Shippo(), ["shippo_live_"]),
            R("easypost-api-key", "EasyPost API key", Severity.High, EasyPost(), ["EZAK"]),
            R("twilio-api-key", "Twilio API key", Severity.High, TwilioApiKey(), Cases("twilio"), strict: false),
            R("twilio-auth-token", "Twilio auth token", Severity.High, TwilioAuthToken(), Cases("twilio"), strict: false),
            R("sendgrid-api-key", "SendGrid API key", Severity.High, SendGrid(), ["SG."]),
            R("mailgun-api-key", "Mailgun API key", Severity.High, Mailgun(), ["key-"]),
            R("mailchimp-api-key", "Mailchimp API key", Severity.High, Mailchimp(), ["-us"]),
            R("mapbox-secret-token", "Mapbox secret token", Severity.High, Mapbox(), ["sk.eyJ"]),
            R("okta-api-token", "Okta API token", Severity.High, Okta(), Cases("okta"), strict: false),

            // --- Keys, tokens and credentials that span formats
            new() { Id = "private-key", Title = "Private key", Severity = Severity.Critical, Kind = DetectorKind.PrivateKeyBlock,
                Keywords = ["-----BEGIN ", "PuTTY-User-Key-File-"] },
            new() { Id = "openssh-private-key", Title = "OpenSSH private key", Severity = Severity.Critical, Kind = DetectorKind.PrivateKeyBlock, Keywords = [] },
            new() { Id = "pgp-private-key", Title = "PGP private key block", Severity = Severity.Critical, Kind = DetectorKind.PrivateKeyBlock, Keywords = [] },
            new() { Id = "putty-private-key", Title = "PuTTY private key", Severity = Severity.Critical, Kind = DetectorKind.PrivateKeyBlock, Keywords = [] },
            R("kubeconfig-client-key", "Kubeconfig client key", Severity.Critical, KubeconfigClientKey(), ["client-key-data"]),
            new() { Id = "kubernetes-secret", Title = "Kubernetes Secret manifest value", Severity = Severity.High,
                Kind = DetectorKind.KubernetesSecret, Keywords = ["kind: Secret", "kind: \"Secret\"", "\"kind\": \"Secret\""] },
            R("jwt", "JSON Web Token", Severity.Medium, Jwt(), ["eyJ"], Validators.Jwt),
            R("database-url-password", "Database / broker URL with a password", Severity.High, DatabaseUrl(), ["://"], Validators.UrlPassword, strict: false),
            R("url-basic-auth", "Password in a URL (basic auth)", Severity.High, BasicAuthUrl(), ["://"], Validators.UrlPassword, strict: false),
            R("connection-string-password", "Password in a connection string", Severity.High, ConnectionString(),
                [.. Cases("password=", "pwd="), "Password =", "password =", "PWD ="], Validators.ConnectionString, strict: false),
            R("http-basic-auth-header", "HTTP Basic credentials in a header", Severity.High, BasicAuthHeader(), ["Basic "], Validators.BasicPair, strict: false),
            R("http-bearer-token", "Bearer token in an Authorization header", Severity.Medium, BearerHeader(), ["Bearer "], Validators.HighEntropy, strict: false),
            R("npmrc-auth", "npm registry credential (.npmrc)", Severity.High, NpmrcAuth(), ["_authToken", "_auth", "_password"],
                appliesTo: f => f.FileName is ".npmrc" or ".yarnrc" or ".yarnrc.yml" || f.Extension == "npmrc", strict: false),
            R("pypirc-password", "PyPI password (.pypirc)", Severity.High, PypircPassword(), Cases("password"), appliesTo: f => f.FileName == ".pypirc", strict: false),
            R("netrc-password", "Password in .netrc", Severity.High, NetrcPassword(), Cases("password"), appliesTo: f => f.FileName is ".netrc" or "_netrc", strict: false),
            new() { Id = "generic-secret", Title = "Secret assigned to a credential-named key", Severity = Severity.Medium,
                Kind = DetectorKind.Generic, Keywords = GenericDetector.Keywords, StrictFormat = false },
        ];
        for (var i = 0; i < list.Length; i++) list[i].Index = i;
        return list;
    }

    public static Detector ById(string id) => All.First(d => d.Id == id);

    // Boundaries: (?<![A-Za-z0-9]) before and (?![A-Za-z0-9]) after keep a token from matching inside a longer run.
    [GeneratedRegex(@"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])", O)] private static partial Regex AwsKeyId();
    [GeneratedRegex(@"(?i:aws_?secret_?access_?key|secret_?access_?key|aws_?secret_?key)[""']?\s{0,10}(=|:|:=|=>|,)\s{0,10}\\?[""'`]?(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])", O)] private static partial Regex AwsSecret();
    [GeneratedRegex(@"""private_key""\s{0,10}:\s{0,10}""(?<s>-----BEGIN (RSA )?PRIVATE KEY-----(\\n|[A-Za-z0-9+/=]){64,8000}-----END (RSA )?PRIVATE KEY-----(\\n)?)""", O)] private static partial Regex GcpPrivateKey();
    [GeneratedRegex(@"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])", O)] private static partial Regex GoogleApiKey();
    [GeneratedRegex(@"GOCSPX-[A-Za-z0-9_\-]{28}(?![A-Za-z0-9_\-])", O)] private static partial Regex GoogleOAuthSecret();
    [GeneratedRegex(@"(?i:AccountKey=)(?<s>[A-Za-z0-9+/]{86}==)", O)] private static partial Regex AzureAccountKey();
    [GeneratedRegex(@"[?&;]sig=(?<s>[A-Za-z0-9%+/]{40,120}(=|%3D|%3d){0,2})", O)] private static partial Regex AzureSas();
    [GeneratedRegex(@"(?i:SharedAccessKey=)(?<s>[A-Za-z0-9+/]{42,44}=?)", O)] private static partial Regex AzureSharedAccessKey();
    [GeneratedRegex(@"(?<![A-Za-z0-9_~.\-])[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])", O)] private static partial Regex AzureAdSecret();
    [GeneratedRegex(@"(?<![A-Za-z0-9])LTAI[A-Za-z0-9]{20}(?![A-Za-z0-9])", O)] private static partial Regex AlibabaKey();
    [GeneratedRegex(@"do[opr]_v1_[a-f0-9]{64}(?![a-f0-9])", O)] private static partial Regex DigitalOcean();
    [GeneratedRegex(@"HRKU-[A-Za-z0-9_\-]{60}(?![A-Za-z0-9_\-])", O)] private static partial Regex HerokuNew();
    [GeneratedRegex(@"(?i:heroku)[A-Za-z0-9_\-]{0,30}(?i:key|token|secret)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})", O)] private static partial Regex HerokuLegacy();
    [GeneratedRegex(@"(fo1_[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])|FlyV1 fm[12][ar]?_[A-Za-z0-9+/=,_\-]{100,2000})", O)] private static partial Regex FlyIo();
    [GeneratedRegex(@"(?i:cloudflare)[A-Za-z0-9_\-]{0,30}(?i:token|key)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>[A-Za-z0-9_\-]{40})(?![A-Za-z0-9_\-])", O)] private static partial Regex CloudflareToken();
    [GeneratedRegex(@"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}(?![a-f0-9])", O)] private static partial Regex CloudflareOriginCa();
    [GeneratedRegex(@"tskey-(api|auth|client|scim|webhook)-[A-Za-z0-9]{10,20}-[A-Za-z0-9]{20,64}(?![A-Za-z0-9])", O)] private static partial Regex Tailscale();
    [GeneratedRegex(@"(?<![A-Za-z0-9])sbp_[a-f0-9]{40}(?![a-f0-9])", O)] private static partial Regex Supabase();
    [GeneratedRegex(@"(?<![A-Za-z0-9])dapi[a-f0-9]{32}(-[0-9])?(?![a-f0-9])", O)] private static partial Regex Databricks();
    [GeneratedRegex(@"(?<![A-Za-z0-9])hv[sb]\.[A-Za-z0-9_\-]{24,200}(?![A-Za-z0-9_\-])", O)] private static partial Regex VaultToken();
    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70}(?![A-Za-z0-9_\-=])", O)] private static partial Regex TerraformCloud();
    [GeneratedRegex(@"dp\.(pt|st|sa|ct)\.[A-Za-z0-9]{40,44}(?![A-Za-z0-9])", O)] private static partial Regex Doppler();
    [GeneratedRegex(@"(?<![A-Za-z0-9])pul-[a-f0-9]{40}(?![a-f0-9])", O)] private static partial Regex Pulumi();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])", O)] private static partial Regex GitHubClassic();
    [GeneratedRegex(@"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])", O)] private static partial Regex GitHubFineGrained();
    [GeneratedRegex(@"glpat-[A-Za-z0-9_\-.]{20,200}(?![A-Za-z0-9_\-])", O)] private static partial Regex GitLabPat();
    [GeneratedRegex(@"(glrt-|GR1348941)[A-Za-z0-9_\-.]{20,200}(?![A-Za-z0-9_\-])", O)] private static partial Regex GitLabRunner();
    [GeneratedRegex(@"gldt-[A-Za-z0-9_\-]{20,200}(?![A-Za-z0-9_\-])", O)] private static partial Regex GitLabDeploy();
    [GeneratedRegex(@"glptt-[0-9a-f]{40}(?![0-9a-f])", O)] private static partial Regex GitLabTrigger();
    [GeneratedRegex(@"(?<![A-Za-z0-9])ATBB[A-Za-z0-9_=.\-]{32}(?![A-Za-z0-9_=.\-])", O)] private static partial Regex BitbucketAppPassword();
    [GeneratedRegex(@"ATATT3[A-Za-z0-9_\-=]{186}(?![A-Za-z0-9_\-=])", O)] private static partial Regex AtlassianToken();
    [GeneratedRegex(@"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", O)] private static partial Regex NpmToken();
    [GeneratedRegex(@"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,300}(?![A-Za-z0-9_\-])", O)] private static partial Regex PyPiToken();
    [GeneratedRegex(@"rubygems_[a-f0-9]{48}(?![a-f0-9])", O)] private static partial Regex RubyGems();
    [GeneratedRegex(@"(?<![A-Za-z0-9])oy2[a-z0-9]{43}(?![a-z0-9])", O)] private static partial Regex NuGet();
    [GeneratedRegex(@"dckr_pat_[A-Za-z0-9_\-]{27}(?![A-Za-z0-9_\-])", O)] private static partial Regex DockerHubPat();
    [GeneratedRegex(@"""auth""\s{0,10}:\s{0,10}""(?<s>[A-Za-z0-9+/]{12,2000}={0,2})""", O)] private static partial Regex DockerConfigAuth();

    [GeneratedRegex(@"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}(?![a-f0-9])", O)] private static partial Regex CircleCi();
    [GeneratedRegex(@"bkua_[a-f0-9]{40}(?![a-f0-9])", O)] private static partial Regex Buildkite();
    [GeneratedRegex(@"PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![a-f0-9])", O)] private static partial Regex Postman();
    [GeneratedRegex(@"lin_api_[A-Za-z0-9]{40}(?![A-Za-z0-9])", O)] private static partial Regex Linear();
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})(?![A-Za-z0-9])", O)] private static partial Regex Notion();
    [GeneratedRegex(@"figd_[A-Za-z0-9_\-]{40}(?![A-Za-z0-9_\-])", O)] private static partial Regex Figma();
    [GeneratedRegex(@"(sntrys_[A-Za-z0-9+/=_]{50,400}|sntryu_[a-f0-9]{64})(?![A-Za-z0-9+/=_])", O)] private static partial Regex Sentry();
    [GeneratedRegex(@"NRAK-[A-Z0-9]{27}(?![A-Z0-9])", O)] private static partial Regex NewRelic();
    [GeneratedRegex(@"(?<![A-Za-z0-9])(glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?![A-Za-z0-9+/=])", O)] private static partial Regex Grafana();
    [GeneratedRegex(@"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}(?![A-Z0-9])", O)] private static partial Regex Dynatrace();
    [GeneratedRegex(@"(?i:dd_?api_?key|datadog_?api_?key)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>[0-9a-f]{32})(?![0-9a-f])", O)] private static partial Regex DatadogApi();
    [GeneratedRegex(@"(?i:dd_?app(lication)?_?key|datadog_?app(lication)?_?key)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>[0-9a-f]{40})(?![0-9a-f])", O)] private static partial Regex DatadogApp();
    [GeneratedRegex(@"(?<![A-Za-z0-9])rnd_[A-Za-z0-9]{32}(?![A-Za-z0-9])", O)] private static partial Regex Render();
    [GeneratedRegex(@"(?<![A-Za-z0-9])pnu_[A-Za-z0-9]{36}(?![A-Za-z0-9])", O)] private static partial Regex Prefect();
    [GeneratedRegex(@"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Z0-9])", O)] private static partial Regex AgeKey();

    [GeneratedRegex(@"sk-ant-(api|admin|oat)[0-9]{2}-[A-Za-z0-9_\-]{80,120}(?![A-Za-z0-9_\-])", O)] private static partial Regex Anthropic();
    [GeneratedRegex(@"sk-or-v1-[a-f0-9]{64}(?![a-f0-9])", O)] private static partial Regex OpenRouter();
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])sk-((proj|svcacct|admin)-[A-Za-z0-9_\-]{20,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_\-])", O)] private static partial Regex OpenAi();
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(hf_|api_org_)[A-Za-z]{34}(?![A-Za-z0-9])", O)] private static partial Regex HuggingFace();
    [GeneratedRegex(@"(?<![A-Za-z0-9_])gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9])", O)] private static partial Regex Groq();
    [GeneratedRegex(@"(?<![A-Za-z0-9_])r8_[A-Za-z0-9]{37}(?![A-Za-z0-9])", O)] private static partial Regex Replicate();
    [GeneratedRegex(@"pplx-[A-Za-z0-9]{48}(?![A-Za-z0-9])", O)] private static partial Regex Perplexity();
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])xai-[A-Za-z0-9]{80}(?![A-Za-z0-9])", O)] private static partial Regex XAi();
    [GeneratedRegex(@"lsv2_(pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}(?![a-f0-9])", O)] private static partial Regex LangSmith();
    [GeneratedRegex(@"pcsk_[A-Za-z0-9_]{50,120}(?![A-Za-z0-9_])", O)] private static partial Regex Pinecone();

    [GeneratedRegex(@"(xox[bpaprs]-[0-9]{8,14}-[0-9A-Za-z\-]{20,200}|xoxe(\.xox[bp])?-[0-9]-[A-Za-z0-9]{100,300})(?![A-Za-z0-9\-])", O)] private static partial Regex SlackToken();
    [GeneratedRegex(@"xapp-[0-9]-[A-Za-z0-9]{8,16}-[0-9]{8,16}-[a-f0-9]{40,80}(?![a-f0-9])", O)] private static partial Regex SlackAppToken();
    [GeneratedRegex(@"https://hooks\.slack\.com/(services|workflows|triggers)/T[A-Z0-9]{6,12}/[A-Z0-9]{6,14}/[A-Za-z0-9]{16,40}(?![A-Za-z0-9])", O)] private static partial Regex SlackWebhook();
    [GeneratedRegex(@"https://(ptb\.|canary\.)?discord(app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,68}(?![A-Za-z0-9_\-])", O)] private static partial Regex DiscordWebhook();
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}(?![A-Za-z0-9_\-])", O)] private static partial Regex DiscordBot();
    [GeneratedRegex(@"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])", O)] private static partial Regex Telegram();
    [GeneratedRegex(@"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])", O)] private static partial Regex StripeLive();
    [GeneratedRegex(@"(?<![A-Za-z0-9])[sr]k_test_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])", O)] private static partial Regex StripeTest();
    [GeneratedRegex(@"whsec_[A-Za-z0-9+/=]{32,64}(?![A-Za-z0-9+/=])", O)] private static partial Regex StripeWebhook();
    [GeneratedRegex(@"(?<![A-Za-z0-9])(EAAA[A-Za-z0-9_\-]{60}|sq0atp-[A-Za-z0-9_\-]{22}|sq0csp-[A-Za-z0-9_\-]{43})(?![A-Za-z0-9_\-])", O)] private static partial Regex Square();
    [GeneratedRegex(@"access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}(?![0-9a-f])", O)] private static partial Regex Braintree();
    [GeneratedRegex(@"shp(at|ca|pa|ss)_[a-fA-F0-9]{32}(?![a-fA-F0-9])", O)] private static partial Regex Shopify();
    [GeneratedRegex(@"shippo_live_[a-f0-9]{40}(?![a-f0-9])", O)] private static partial Regex Shippo();
    [GeneratedRegex(@"EZAK[A-Za-z0-9]{54}(?![A-Za-z0-9])", O)] private static partial Regex EasyPost();
    [GeneratedRegex(@"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])", O)] private static partial Regex TwilioApiKey();
    [GeneratedRegex(@"(?i:auth_?token)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>[0-9a-f]{32})(?![0-9a-f])", O)] private static partial Regex TwilioAuthToken();
    [GeneratedRegex(@"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])", O)] private static partial Regex SendGrid();
    [GeneratedRegex(@"(?<![A-Za-z0-9])key-[0-9a-f]{32}(?![A-Za-z0-9])", O)] private static partial Regex Mailgun();
    [GeneratedRegex(@"(?<![A-Za-z0-9])[0-9a-f]{32}-us[0-9]{1,2}(?![A-Za-z0-9])", O)] private static partial Regex Mailchimp();
    [GeneratedRegex(@"sk\.eyJ[A-Za-z0-9_\-]{50,400}\.[A-Za-z0-9_\-]{20,100}(?![A-Za-z0-9_\-])", O)] private static partial Regex Mapbox();
    [GeneratedRegex(@"(?i:okta)[A-Za-z0-9_\-]{0,30}(?i:token|key)[""']?\s{0,10}(=|:|:=|=>)\s{0,10}\\?[""'`]?(?<s>00[A-Za-z0-9_\-]{40})(?![A-Za-z0-9_\-])", O)] private static partial Regex Okta();

    [GeneratedRegex(@"client-key-data:\s{0,10}(?<s>[A-Za-z0-9+/]{64,20000}={0,2})", O)] private static partial Regex KubeconfigClientKey();
    [GeneratedRegex(@"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{10,4000}\.eyJ[A-Za-z0-9_\-]{10,8000}\.[A-Za-z0-9_\-]{10,1000}(?![A-Za-z0-9_\-])", O)] private static partial Regex Jwt();
    [GeneratedRegex(@"(?<![A-Za-z0-9+])(?i:postgres(ql)?|mysql|mariadb|mongodb(\+srv)?|redis|rediss|amqps?|mssql|sqlserver|cockroachdb|clickhouse|couchdb|neo4j(\+s)?|bolt|nats|kafka|jdbc:[a-z]{2,12})://[^\s:@/'""<>]{1,100}:(?<s>[^\s@/'""<>]{1,200})@[^\s'""<>]", O)] private static partial Regex DatabaseUrl();
    [GeneratedRegex(@"(?<![A-Za-z0-9+])(?i:https?|ftps?|sftp|ssh|git|svn|ldaps?|smtps?|imaps?)://[^\s:@/'""<>]{1,100}:(?<s>[^\s@/'""<>]{1,200})@[A-Za-z0-9.\-\[\]]", O)] private static partial Regex BasicAuthUrl();
    [GeneratedRegex(@"((?<=;\s{0,3})(?i:password|pwd)\s{0,3}=\s{0,3}(?<s>[^;""'\s<>{}]{4,128})(?=\s{0,3}(;|""|'|$))|(?i:password|pwd)\s{0,3}=\s{0,3}(?<s>[^;""'\s<>{}]{4,128})\s{0,3};)", O)] private static partial Regex ConnectionString();
    [GeneratedRegex(@"(?i:authorization)[""']?\s{0,5}[:=]\s{0,5}[""']?Basic\s{1,5}(?<s>[A-Za-z0-9+/]{8,1000}={0,2})(?![A-Za-z0-9+/=])", O)] private static partial Regex BasicAuthHeader();
    [GeneratedRegex(@"(?i:authorization)[""']?\s{0,5}[:=]\s{0,5}[""']?Bearer\s{1,5}(?<s>[A-Za-z0-9_\-.~+/]{20,2000}=*)", O)] private static partial Regex BearerHeader();
    [GeneratedRegex(@"(_authToken|_auth|_password)\s{0,5}=\s{0,5}[""']?(?<s>[^\s'""]{8,2000})", O)] private static partial Regex NpmrcAuth();
    [GeneratedRegex(@"^\s{0,20}(?i:password)\s{0,5}[:=]\s{0,5}(?<s>\S{1,500})", O)] private static partial Regex PypircPassword();
    [GeneratedRegex(@"(?i:\bpassword)\s{1,10}(?<s>\S{1,500})", O)] private static partial Regex NetrcPassword();
}
