using System.Text;

namespace Writ.Scanner.Tests.Corpus;

/// <summary>Adversarial plantings are outside the 95 % gate: they show what the scanner does not claim to catch.</summary>
public enum Difficulty { Easy, Medium, Hard, Adversarial }

/// <summary>One planted secret: where it is and which rule must report it.</summary>
public sealed record Truth(string Path, int Line, string Rule, string Kind, Difficulty Difficulty, string How);

/// <summary>One planted non-secret that must not be reported.</summary>
public sealed record Decoy(string Path, int Line, string Category);

/// <summary>
/// Writes a labelled workspace: files in several languages and config formats, each secret kind planted in
/// easy (a .env or config file), medium (source code, notebooks, agent rule files, MCP configs) and hard
/// (base64, URL-encoded, split across string literals) forms, plus decoys of every suppressed category.
/// </summary>
public sealed class CorpusGenerator(int seed)
{
    private readonly Fakes _f = new(seed);
    public List<Truth> Truths { get; } = [];
    public List<Decoy> Decoys { get; } = [];
    private readonly Dictionary<string, List<string>> _files = [];

    private static readonly string[] Words = ["order", "invoice", "customer", "retry", "queue", "report", "ledger", "session", "cache", "worker", "schema", "batch"];

    private string W() => Words[_f.Random.Next(Words.Length)];

    /// <summary>Realistic filler for a file type: code that mentions tokens and passwords without holding any.</summary>
    private string Filler(string ext) => (ext, _f.Random.Next(6)) switch
    {
        ("py", 0) => $"def {W()}_{W()}(token_count: int = {_f.Num(3)}) -> dict:",
        ("py", 1) => $"    password_field = form.get(\"password\")",
        ("py", 2) => $"    return client.{W()}(max_tokens={_f.Num(4)}, timeout={_f.Num(2)})",
        ("py", _) => $"    logger.info(\"{W()} {W()} done in %s\", elapsed)",
        ("js" or "ts", 0) => $"export async function {W()}{W()}(req, res) {{ const token = req.headers.authorization; }}",
        ("js" or "ts", 1) => $"  const tokenizer = new Tokenizer({{ model: \"{W()}-{_f.Num(2)}\" }});",
        ("js" or "ts", 2) => $"  if (!session.secretRef) throw new Error(\"missing {W()}\");",
        ("js" or "ts", _) => $"  return {W()}.map((x) => x.{W()} + {_f.Num(3)});",
        ("go", 0) => $"func (s *{W()}Service) Get(ctx context.Context, id string) (*Token, error) {{",
        ("go", _) => $"\tif err := s.store.Put(ctx, \"{W()}\", v); err != nil {{ return nil, err }}",
        ("java" or "cs", 0) => $"    private final TokenCache tokenCache = new TokenCache({_f.Num(3)});",
        ("java" or "cs", 1) => $"    public string PasswordHint {{ get; init; }} = \"at least 12 characters\";",
        ("java" or "cs", _) => $"    var {W()} = await repository.FindAsync({W()}Id, cancellationToken);",
        ("yaml", 0) => $"  {W()}_timeout: {_f.Num(2)}s",
        ("yaml", 1) => $"  token_ttl: {_f.Num(3)}",
        ("yaml", _) => $"  {W()}: {W()}-{_f.Num(3)}",
        ("json", _) => $"  \"{W()}_{W()}\": \"{W()}-{_f.Num(3)}\",",
        ("env", 0) => $"TOKEN_TTL_SECONDS={_f.Num(3)}",
        ("env", _) => $"{W().ToUpperInvariant()}_{W().ToUpperInvariant()}={W()}{_f.Num(3)}",
        ("toml", _) => $"{W()}_{W()} = \"{W()}\"",
        ("sh", 0) => $"echo \"deploying {W()} with token from vault\"",
        ("sh", _) => $"retry {_f.Num(1)} ./bin/{W()} --{W()}={W()}",
        ("md", 0) => $"Rotate the {W()} token every 90 days; never paste a password into a prompt.",
        ("md", _) => $"- Run `make {W()}` before committing the {W()} changes.",
        ("tf", _) => $"  {W()}_name = \"{W()}-{_f.Num(3)}\"",
        _ => $"# {W()} {W()} {W()}",
    };

    private static readonly string[] EasyFiles = [".env", ".env.production", "config/settings.yaml", "config/app.toml", "config/appsettings.json"];
    private static readonly string[] MediumFiles =
        ["src/client.py", "src/api.ts", "web/server.js", "cmd/main.go", "src/Main.java", "src/Program.cs", "scripts/deploy.sh",
         "notebooks/explore.ipynb", "AGENTS.md", ".cursor/rules/deploy.mdc", ".mcp.json", ".github/workflows/release.yml", "infra/main.tf", "Dockerfile"];

    private static string Ext(string path)
    {
        var name = Path.GetFileName(path);
        if (name.StartsWith(".env", StringComparison.Ordinal)) return "env";
        if (name == "Dockerfile") return "docker";
        var e = Path.GetExtension(path).TrimStart('.');
        return e switch { "yml" => "yaml", "mdc" => "md", _ => e };
    }

    /// <summary>How a NAME = value assignment is written in each file type.</summary>
    private static string Assign(string path, string name, string value) => Ext(path) switch
    {
        "env" => $"{name}={value}",
        "yaml" => $"  {name.ToLowerInvariant()}: \"{value}\"",
        "json" => $"  \"{name}\": \"{value}\",",
        "toml" or "tf" => $"{name.ToLowerInvariant()} = \"{value}\"",
        "py" => $"{name} = \"{value}\"",
        "ts" or "js" => $"const {name} = \"{value}\";",
        "go" => $"\t{name} := \"{value}\"",
        "java" => $"    private static final String {name} = \"{value}\";",
        "cs" => $"    private const string {name} = \"{value}\";",
        "sh" => $"export {name}=\"{value}\"",
        "ipynb" => $"    \"{name} = \\\"{value}\\\"\\n\",",
        "md" => $"Use `{name}={value}` when calling the staging API.",
        "docker" => $"ENV {name}={value}",
        _ => $"{name}={value}",
    };

    private void Add(string path, string line)
    {
        if (!_files.TryGetValue(path, out var lines))
        {
            _files[path] = lines = [];
            var ext = Ext(path);
            if (ext == "ipynb") lines.Add("{\"cells\": [{\"cell_type\": \"code\", \"metadata\": {}, \"source\": [");
            if (Path.GetFileName(path) == ".mcp.json") lines.Add("{\"mcpServers\": {\"deploy\": {\"command\": \"npx\", \"env\": {");
            else if (ext == "json") lines.Add("{");
        }
        var fillers = _f.Random.Next(1, 6);
        for (var i = 0; i < fillers; i++) lines.Add(FillerFor(path));
        lines.Add(line);
    }

    private string FillerFor(string path) => Ext(path) switch
    {
        "ipynb" => $"    \"x_{_f.Num(2)} = {W()}({_f.Num(2)})\\n\",",
        "json" => Path.GetFileName(path) == ".mcp.json" ? $"  \"{W().ToUpperInvariant()}_MODE\": \"{W()}\"," : Filler("json"),
        "docker" => $"RUN apt-get install -y {W()}",
        var e => Filler(e),
    };

    private int LineOf(string path) => _files[path].Count; // 1-based line of the last added line

    public void Generate(int rounds = 2)
    {
        foreach (var kind in Kinds.All)
        {
            for (var round = 0; round < rounds; round++)
            {
                if (kind.Snippet is not null) { PlantSnippet(kind, round); continue; }
                var easy = EasyFiles[_f.Random.Next(EasyFiles.Length)];
                Plant(easy, kind, kind.Value(_f), Difficulty.Easy, "plain assignment in " + Ext(easy));
                var medium = MediumFiles[_f.Random.Next(MediumFiles.Length)];
                Plant(medium, kind, kind.Value(_f), Difficulty.Medium, "assignment in " + Ext(medium));
                if (kind.Prefixed) PlantHard(kind, round);
            }
        }
        PlantDecoys();
        PlantAdversarial();
    }

    /// <summary>Forms the scanner is known to miss or only partly catch; reported separately with the reason.</summary>
    private void PlantAdversarial()
    {
        var path = "src/obfuscated.py";
        foreach (var kind in Kinds.All.Where(k => k.Prefixed).Take(12))
        {
            var v = kind.Value(_f);
            Add(path, $"{kind.Name} = \"{v[..2]}\" + \"{v[2..]}\"");
            Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, Difficulty.Adversarial, "split inside the prefix"));
            v = kind.Value(_f);
            Add(path, $"blob = \"{Convert.ToBase64String(Encoding.UTF8.GetBytes("export " + kind.Name + "=" + v))}\"");
            Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, Difficulty.Adversarial, "base64 of a whole line (prefix at any alignment)"));
            v = kind.Value(_f);
            Add(path, $"{kind.Name.ToLowerInvariant()}_hex = \"{Convert.ToHexStringLower(Encoding.UTF8.GetBytes(v))}\"");
            Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, Difficulty.Adversarial, "hex-encoded"));
        }
        for (var i = 0; i < 4; i++)
        {
            Add(".env.local", $"ADMIN_PASSWORD={Words[_f.Random.Next(Words.Length)]}{Words[_f.Random.Next(Words.Length)]}{Words[_f.Random.Next(Words.Length)]}");
            Truths.Add(new Truth(".env.local", LineOf(".env.local"), "generic-secret", "generic-secret", Difficulty.Adversarial, "all-lowercase passphrase (below the entropy bar)"));
        }
    }

    private void Plant(string path, SecretKind kind, string value, Difficulty d, string how)
    {
        Add(path, Assign(path, kind.Name, value));
        Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, d, how));
    }

    private void PlantHard(SecretKind kind, int round)
    {
        var value = kind.Value(_f);
        switch (round % 2)
        {
            case 0:   // base64 of the whole value, as in `echo … | base64 -d` or a Helm values file
            {
                var path = "deploy/values.yaml";
                Add(path, $"  {kind.Name.ToLowerInvariant()}_b64: {Convert.ToBase64String(Encoding.UTF8.GetBytes(value))}");
                Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, Difficulty.Hard, "base64-encoded"));
                break;
            }
            default:  // split across two string literals
            {
                var path = "src/legacy.js";
                var cut = value.Length / 2;
                Add(path, $"const {kind.Name} = \"{value[..cut]}\" + \"{value[cut..]}\";");
                Truths.Add(new Truth(path, LineOf(path), kind.Rule, kind.Rule, Difficulty.Hard, "split string concatenation"));
                break;
            }
        }
    }

    private void PlantSnippet(SecretKind kind, int round)
    {
        var (text, line, fileName) = kind.Snippet!(_f);
        var path = round == 0 ? fileName : Path.Combine(Path.GetDirectoryName(fileName) ?? "", "r" + round, Path.GetFileName(fileName)).Replace('\\', '/');
        if (Path.GetFileName(path) is ".npmrc" or ".pypirc" or ".netrc") path = round == 0 ? Path.GetFileName(path) : $"home{round}/{Path.GetFileName(path)}";
        _files[path] = [.. text.Split('\n')];
        Truths.Add(new Truth(path, line + 1, kind.Rule, kind.Rule, kind.Rule is "connection-string-password" or "http-basic-auth-header" or "http-bearer-token" ? Difficulty.Medium : Difficulty.Easy, "own file format"));
    }

    private void Decoy(string path, string line, string category)
    {
        Add(path, line);
        Decoys.Add(new Decoy(path, LineOf(path), category));
    }

    private void PlantDecoys()
    {
        for (var round = 0; round < 3; round++)
        {
            var env = EasyFiles[round % EasyFiles.Length];
            var code = MediumFiles[(round * 5) % MediumFiles.Length];
            // documented examples
            Decoy(env, Assign(env, "AWS_ACCESS_KEY_ID", "AKIA" + "IOSFODNN7" + "EXAMPLE"), "documented example");
            Decoy(env, Assign(env, "aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCY" + "EXAMPLEKEY"), "documented example");
            Decoy(code, Assign(code, "STRIPE_KEY", "sk_" + "test_4eC39HqLyjWDarjtT1zdp7dc"), "documented example");
            Decoy(code, Assign(code, "SLACK_TOKEN", "xox" + "b-not-a-real-token-this-will-not-work"), "documented example");
            // placeholders
            Decoy(env, Assign(env, "API_KEY", "YOUR_API_KEY"), "placeholder");
            Decoy(env, Assign(env, "GITHUB_TOKEN", "gh" + "p_" + new string('x', 36)), "placeholder");
            Decoy(env, Assign(env, "DB_PASSWORD", "changeme"), "placeholder");
            Decoy(code, Assign(code, "auth_token", "<token>"), "placeholder");
            Decoy(code, Assign(code, "client_secret", "your-client-secret-here"), "placeholder");
            Decoy(env, Assign(env, "OPENAI_API_KEY", "sk-" + "proj-" + "XXXXXXXXXXXXXXXXXXXXXXXXXXXX"), "placeholder");
            Decoy("docs/setup.md", "export DATABASE_URL=postgres" + "://user:password@localhost:5432/app", "placeholder");
            Decoy("docs/setup.md", "Set `ANTHROPIC_API_KEY=sk-" + "ant-api03-...` in your shell.", "placeholder");
            // references to env vars and secret managers
            Decoy(env, Assign(env, "DB_PASSWORD", "${DB_PASSWORD}"), "env reference");
            Decoy("src/client.py", "token = os.environ[\"GITHUB_TOKEN\"]", "env reference");
            Decoy("web/server.js", "const apiKey = process.env.STRIPE_SECRET_KEY;", "env reference");
            Decoy(".github/workflows/release.yml", "          password: ${{ secrets.REGISTRY_PASSWORD }}", "secret-manager reference");
            Decoy("config/settings.yaml", "  db_password: \"@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)\"", "secret-manager reference");
            Decoy("config/settings.yaml", "  api_secret: \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/api\"", "secret-manager reference");
            Decoy(".env", "VAULT_SECRET=vault:secret/data/prod#api_key", "secret-manager reference");
            // hashes and integrity attributes
            Decoy("web/package-lock.json", $"      \"integrity\": \"sha512-{_f.B64(64)}\",", "integrity hash");
            Decoy("config/app.toml", $"commit_sha = \"{_f.Hex(40)}\"", "hash");
            Decoy("config/settings.yaml", $"  password_hash: \"$2b$12${_f.Of(Fakes.Alnum + "./", 53)}\"", "hash");
            Decoy("src/client.py", $"CHECKSUM = \"{_f.Hex(64)}\"", "hash");
            // UUIDs
            Decoy("config/appsettings.json", $"  \"TenantId\": \"{_f.Uuid()}\",", "uuid");
            Decoy("src/api.ts", $"const clientSecret = \"{_f.Uuid()}\";", "uuid");
            // public keys
            Decoy("keys/r" + round + "/deploy.pub", $"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{_f.B64(24)} deploy@ci", "public key");
            Decoy("keys/r" + round + "/jwt-public.pem", "-----BEGIN PUBLIC KEY-----", "public key");
            Decoy(env, Assign(env, "STRIPE_PUBLISHABLE_KEY", "pk_" + "live_" + _f.An(24)), "public key");
            Decoy("src/api.ts", $"const publicKey = \"{_f.B64(32)}\";", "public key");
            // redacted values
            Decoy("docs/setup.md", "token: ghp_****************************", "redacted");
            Decoy("docs/setup.md", "OPENAI_API_KEY=sk-...abcd", "redacted");
            Decoy("config/settings.yaml", "  password: \"[REDACTED]\"", "redacted");
            // names that contain credential words but are not credentials
            Decoy("src/client.py", $"max_tokens = {_f.Num(4)}", "not a credential");
            Decoy("src/api.ts", "const tokenizer = \"cl100k_base\";", "not a credential");
            Decoy("config/settings.yaml", $"  token_endpoint: \"https://auth.acme.io/oauth2/token\"", "not a credential");
            Decoy("src/Program.cs", $"    var passwordLength = {_f.Num(2)};", "not a credential");
            Decoy("src/client.py", "secret_name = \"prod/db/password\"", "not a credential");
        }
    }

    /// <summary>Writes every file under <paramref name="root"/> and the ground truth as <c>truth.tsv</c> next to it.</summary>
    public void Write(string root)
    {
        foreach (var (path, lines) in _files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var content = new List<string>(lines);
            var ext = Ext(path);
            if (ext == "ipynb") content.Add("    \"print('done')\\n\"]}], \"nbformat\": 4, \"nbformat_minor\": 5}");
            else if (Path.GetFileName(path) == ".mcp.json") content.Add("  \"LOG\": \"info\"}}}}");
            else if (ext == "json" && content[0] == "{") content.Add("  \"end\": true\n}");
            File.WriteAllText(full, string.Join("\n", content) + "\n");
        }
        File.WriteAllLines(Path.Combine(root, "..", "truth.tsv"),
            Truths.Select(t => $"{t.Path}\t{t.Line}\t{t.Rule}\t{t.Difficulty}\t{t.How}"));
    }
}
