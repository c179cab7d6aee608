using Writ.Core.Policy;

namespace Writ.Core.Tests.Policy;

/// <summary>The gateway keys of a resource×environment: validated with positions, compiled into a route table.</summary>
public sealed class GatewaySettingsTests
{
    /// <summary>A policy whose crm/staging settings are <paramref name="settings"/>, from line 8, indented by <see cref="Indent"/>.</summary>
    private static string With(string settings) =>
        "environments: [staging, production]\n" +
        "resources:\n" +
        "  crm:\n" +
        "    actions: [read, write, delete]\n" +
        "    environments:\n" +
        "      production:\n" +
        "      staging:\n" +
        string.Join("\n", settings.Split('\n').Select(l => "        " + l)) + "\n";

    private const string Full = """
        upstream: https://crm.staging.example.com/api/
        credential:
          secret: crm-staging-key
          inject: { header: Authorization, template: "Bearer {secret}" }
        routes:
          - { method: GET, path: "/customers/{account}", action: read }
          - { method: GET, path: "/customers/{account}/orders/*", action: read }
          - { method: GET, path: "/customers/export", action: read, bulk: true }
          - { method: POST, path: "/customers/{account}/notes", action: write }
          - { method: DELETE, path: "/customers/{account}", action: delete }
          - { method: GET, path: "/files/**", action: read }
        limits: { max_body_bytes: 65536 }
        account: { path_param: account }
        """;

    private static GatewayTarget Target(string settings) =>
        PolicyTestData.LoadValid(With(settings)).Resources["crm"].Environments["staging"].Gateway!;

    private const int Indent = 8;

    /// <summary>The one diagnostic, its column counted within <paramref name="settings"/> (as the tests write them).</summary>
    private static PolicyDiagnostic Single(string settings)
    {
        var result = PolicyTestData.Load(With(settings));
        Assert.True(result.Diagnostics.Count == 1, "expected one diagnostic, got:\n" + string.Join("\n", result.Diagnostics));
        return result.Diagnostics[0] with { Column = result.Diagnostics[0].Column - Indent };
    }

    [Fact]
    public void Load_FullSettings_CompilesGatewayTarget()
    {
        var t = Target(Full);

        Assert.Equal("https://crm.staging.example.com/api/", t.Upstream.ToString());
        Assert.Equal(new HeaderInjection("crm-staging-key", "Authorization", "Bearer {secret}"), t.Credential);
        Assert.Equal(6, t.Routes.Routes.Count);
        Assert.Equal(65536, t.MaxBodyBytes);
        Assert.Equal(new AccountCheck("account", null), t.Account);
        Assert.Equal("Bearer s3", ((HeaderInjection)t.Credential!).Render("s3"));
        Assert.Null(PolicyTestData.LoadValid(With(Full)).Resources["crm"].Environments["production"].Gateway);
    }

    [Fact]
    public void Load_NoUpstream_HasNoGatewayAndKeepsOtherKeysRaw()
    {
        var model = PolicyTestData.LoadValid(With("headers: [a, b]"));
        Assert.Null(model.Resources["crm"].Environments["staging"].Gateway);
        Assert.True(model.Resources["crm"].Environments["staging"].Settings.ContainsKey("headers"));
    }

    [Theory]
    [InlineData("GET", "/customers/42", "read", "account=42")]
    [InlineData("GET", "/customers/42/orders/7", "read", "account=42")]
    [InlineData("GET", "/customers/export", "read", "")]            // literal beats {account}
    [InlineData("POST", "/customers/42/notes", "write", "account=42")]
    [InlineData("DELETE", "/customers/42", "delete", "account=42")]
    [InlineData("GET", "/files", "read", "")]                       // ** matches zero segments
    [InlineData("GET", "/files/a/b/c", "read", "")]
    public void Match_MappedRoute_GivesActionAndParameters(string method, string path, string action, string parameters)
    {
        var match = Target(Full).Routes.Match(method, path[1..].Split('/'));

        Assert.NotNull(match);
        Assert.Equal(action, match.Route.Action);
        Assert.Equal(parameters, string.Join("&", match.Parameters.Select(p => p.Key + "=" + p.Value)));
    }

    [Theory]
    [InlineData("GET", "/customers")]
    [InlineData("GET", "/customers/42/orders")]
    [InlineData("GET", "/customers/42/orders/7/items")]
    [InlineData("PUT", "/customers/42")]
    [InlineData("DELETE", "/customers/42/notes")]
    [InlineData("get", "/customers/42")]
    [InlineData("GET", "/Customers/42")]
    [InlineData("GET", "/customers//orders/7")]
    [InlineData("GET", "/other")]
    public void Match_UnmappedRoute_IsNull(string method, string path)
    {
        Assert.Null(Target(Full).Routes.Match(method, path[1..].Split('/')));
    }

    [Theory]
    [InlineData("GET", "/customers/EXPORT")]   // would match {account} (not bulk) while a case-insensitive upstream serves the bulk export
    [InlineData("GET", "/Customers/42")]
    [InlineData("GET", "/FILES/a")]
    public void Match_CaseLookalikeOfALiteral_IsRefused(string method, string path)
    {
        Assert.Null(Target(Full).Routes.Match(method, path[1..].Split('/'), out var lookalike));
        Assert.Equal(RouteLookalike.Case, lookalike);
    }

    [Theory]
    [InlineData("GET", "/customers/export.json")]      // Rails/Spring format suffix: the bulk export, to the upstream
    [InlineData("GET", "/customers/export.xml")]
    [InlineData("GET", "/customers/EXPORT.csv")]
    [InlineData("GET", "/customers/export.json.gz")]
    [InlineData("GET", "/customers/export;jsessionid=1")] // matrix parameter, stripped by servlet containers
    [InlineData("GET", "/customers/export..")]
    [InlineData("GET", "/customers/export .json")]
    [InlineData("DELETE", "/customers/export.json")]   // the literal is another method's: still the export handler
    [InlineData("GET", "/customers/export.json/orders/7")]
    public void Match_SuffixLookalikeOfASiblingLiteral_IsRefused(string method, string path)
    {
        Assert.Null(Target(Full).Routes.Match(method, path[1..].Split('/'), out var lookalike));
        Assert.Equal(RouteLookalike.Suffix, lookalike);
    }

    [Theory]
    [InlineData("/f\u0131les/a")]          // dotless i: Java's equalsIgnoreCase takes it for i
    [InlineData("/F\u0130LES/a")]          // capital dotted I, likewise
    [InlineData("/customers/\uFF45xport")] // full-width e
    public void Match_UnicodeLookalikeThatPeersFold_IsACaseLookalike(string path)
    {
        Assert.Null(Target(Full).Routes.Match("GET", path[1..].Split('/'), out var lookalike));
        Assert.Equal(RouteLookalike.Case, lookalike);
    }

    [Fact]
    public void Match_CaseLookalikeOfAnotherMethodsLiteral_IsRefused()
    {
        Assert.Null(Target(Full).Routes.Match("DELETE", ["customers", "Export"], out var lookalike));
        Assert.Equal(RouteLookalike.Case, lookalike);
    }

    [Fact]
    public void Match_LookalikeUnderDoubleStar_IsRefused()
    {
        var t = Target("upstream: http://127.0.0.1:9/\nroutes:\n  - { method: GET, path: \"/files/**\", action: read }\n  - { method: DELETE, path: \"/files/{id}/purge\", action: delete }");
        Assert.Null(t.Routes.Match("GET", ["files", "7", "purge.json"], out var lookalike));
        Assert.Equal(RouteLookalike.Suffix, lookalike);
        Assert.NotNull(t.Routes.Match("GET", ["files", "7", "purged"], out lookalike));
        Assert.Equal(RouteLookalike.None, lookalike);
    }

    [Theory]
    [InlineData("export")]         // the literal itself under another shape: the upstream sees what Writ matched
    [InlineData("exports")]
    [InlineData("exporter.json")]
    [InlineData("12345.json")]
    [InlineData("my-export")]
    public void Match_ValuesThatOnlyContainALiteral_AreNotLookalikes(string account)
    {
        var match = Target(Full).Routes.Match("GET", ["customers", account, "orders", "7"], out var lookalike);
        Assert.Equal(RouteLookalike.None, lookalike);
        Assert.Equal(account, match!.Parameters["account"]);
    }

    [Fact]
    public void Match_ParameterValuesInAnyCase_AreNotLookalikes()
    {
        var match = Target(Full).Routes.Match("GET", ["customers", "AbC"], out var lookalike);
        Assert.Equal(RouteLookalike.None, lookalike);
        Assert.Equal("AbC", match!.Parameters["account"]);
    }

    [Fact]
    public void Match_LookalikeOfALessSpecificRoute_DoesNotBlockTheExactMatch()
    {
        var t = Target("upstream: http://127.0.0.1:9/\nroutes:\n  - { method: GET, path: \"/A/**\", action: write }\n  - { method: GET, path: \"/a/b\", action: read }");
        Assert.Equal("read", t.Routes.Match("GET", ["a", "b"], out var lookalike)!.Route.Action);
        Assert.Equal(RouteLookalike.None, lookalike);
    }

    [Fact]
    public void Match_ExactBeatsTrailingDoubleStar()
    {
        var t = Target("upstream: http://127.0.0.1:9/\nroutes:\n  - { method: GET, path: \"/a/**\", action: read }\n  - { method: GET, path: \"/a\", action: write }");
        Assert.Equal("write", t.Routes.Match("GET", ["a"])!.Route.Action);
        Assert.Equal("read", t.Routes.Match("GET", ["a", "b"])!.Route.Action);
    }

    [Fact]
    public void Match_RootRoute_MatchesOnlyRoot()
    {
        var t = Target("upstream: http://127.0.0.1:9/\nroutes:\n  - { method: GET, path: /, action: read }");
        Assert.NotNull(t.Routes.Match("GET", []));
        Assert.Null(t.Routes.Match("GET", ["x"]));
    }

    [Theory]
    [InlineData("upstream: ftp://crm.example.com/", "policy.invalid_upstream", 8, 11)]
    [InlineData("upstream: /relative", "policy.invalid_upstream", 8, 11)]
    [InlineData("upstream: https://user:pw@crm.example.com/", "policy.invalid_upstream", 8, 11)]
    [InlineData("upstream: https://crm.example.com/?a=b", "policy.invalid_upstream", 8, 11)]
    [InlineData("upstream: https://crm.example.com/#x", "policy.invalid_upstream", 8, 11)]
    [InlineData("upstream: [a]", "policy.invalid_type", 8, 11)]
    [InlineData("routes: []", "policy.missing_field", 8, 1)]
    public void Load_BadUpstream_IsReportedAtItsPosition(string settings, string code, int line, int column)
    {
        var d = Single(settings);
        Assert.Equal((code, line, column), (d.Code, d.Line, d.Column));
    }

    [Theory]
    [InlineData("  - { method: get, path: /a, action: read }", "policy.invalid_route", 10, 15)]
    [InlineData("  - { method: GET, path: a, action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: \"/a/**/b\", action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: \"/a/../b\", action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: \"/a//b\", action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: \"/a%2Fb\", action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: \"/{x}/{x}\", action: read }", "policy.invalid_route", 10, 26)]
    [InlineData("  - { method: GET, path: /a, action: send }", "policy.unknown_action", 10, 38)]
    [InlineData("  - { method: GET, path: /a, action: read, bulk: yes }", "policy.invalid_route", 10, 50)]
    [InlineData("  - { method: GET, path: /a, actoin: read }", "policy.unknown_key", 10, 30)]
    [InlineData("  - { method: GET, path: /a }", "policy.missing_field", 10, 5)]
    [InlineData("  - GET /a", "policy.invalid_type", 10, 5)]
    public void Load_BadRoute_IsReportedAtItsPosition(string route, string code, int line, int column)
    {
        var d = Single("upstream: http://127.0.0.1:9/\nroutes:\n" + route);
        Assert.Equal((code, line, column), (d.Code, d.Line, d.Column));
    }

    [Fact]
    public void Load_SameRouteShapeTwice_IsDuplicate()
    {
        var d = Single("upstream: http://127.0.0.1:9/\nroutes:\n  - { method: GET, path: \"/a/{x}\", action: read }\n  - { method: GET, path: \"/a/*\", action: write }");
        Assert.Equal(("policy.duplicate_entry", 11, 26), (d.Code, d.Line, d.Column));
    }

    [Theory]
    [InlineData("credential: { inject: { header: X-Api-Key } }", "policy.missing_field", 9, 13)]
    [InlineData("credential: { secret: k }", "policy.missing_field", 9, 13)]
    [InlineData("credential: { secret: \"bad name\", inject: { header: X-Api-Key } }", "policy.invalid_credential", 9, 23)]
    [InlineData("credential: { secret: k, inject: { header: Host } }", "policy.invalid_credential", 9, 44)]
    [InlineData("credential: { secret: k, inject: { header: DPoP } }", "policy.invalid_credential", 9, 44)]
    [InlineData("credential: { secret: k, inject: { header: \"Bad Header\" } }", "policy.invalid_credential", 9, 44)]
    [InlineData("credential: { secret: k, inject: { header: Authorization, template: Bearer } }", "policy.invalid_credential", 9, 69)]
    [InlineData("credential: { secret: k, inject: { header: Authorization, template: \"{secret}{secret}\" } }", "policy.invalid_credential", 9, 69)]
    [InlineData("credential: { secret: k, inject: { header: A, query: b } }", "policy.invalid_credential", 9, 34)]
    [InlineData("credential: { secret: k, inject: { basic: { username: \"a:b\" } } }", "policy.invalid_credential", 9, 55)]
    [InlineData("credential: { secret: k, inject: { query: \"a b\" } }", "policy.invalid_credential", 9, 43)]
    [InlineData("credential: { secret: k, inject: { query: key, template: \"{secret}\" } }", "policy.invalid_credential", 9, 48)]
    [InlineData("credential: { secret: k, injekt: { query: key } }", "policy.unknown_key", 9, 26)]
    public void Load_BadCredential_IsReportedAtItsPosition(string credential, string code, int line, int column)
    {
        var d = Single("upstream: http://127.0.0.1:9/\n" + credential);
        Assert.Equal((code, line, column), (d.Code, d.Line, d.Column));
    }

    [Fact]
    public void Load_BasicAndQueryInjection_Compile()
    {
        Assert.Equal(new BasicInjection("k", "svc"), Target("upstream: http://127.0.0.1:9/\ncredential: { secret: k, inject: { basic: { username: svc } } }").Credential);
        Assert.Equal(new QueryInjection("k", "api_key"), Target("upstream: http://127.0.0.1:9/\ncredential: { secret: k, inject: { query: api_key } }").Credential);
        Assert.Equal(new HeaderInjection("k", "X-Api-Key", "{secret}"), Target("upstream: http://127.0.0.1:9/\ncredential: { secret: k, inject: { header: X-Api-Key } }").Credential);
    }

    [Theory]
    [InlineData("limits: { max_body_bytes: -1 }", "policy.invalid_limit", 9, 27)]
    [InlineData("limits: { max_body_bytes: lots }", "policy.invalid_limit", 9, 27)]
    [InlineData("limits: { max_items: 3 }", "policy.unknown_key", 9, 11)]
    [InlineData("account: { path_param: tenant }", "policy.invalid_account", 9, 24)]
    [InlineData("account: { path_param: a, query: b }", "policy.invalid_account", 9, 10)]
    [InlineData("account: { query: \"a&b\" }", "policy.invalid_account", 9, 19)]
    public void Load_BadLimitsOrAccount_IsReportedAtItsPosition(string setting, string code, int line, int column)
    {
        var d = Single("upstream: http://127.0.0.1:9/\n" + setting);
        Assert.Equal((code, line, column), (d.Code, d.Line, d.Column));
    }

    [Fact]
    public void Load_AccountByQuery_Compiles()
    {
        Assert.Equal(new AccountCheck(null, "account_id"), Target("upstream: http://127.0.0.1:9/\naccount: { query: account_id }").Account);
    }
}
