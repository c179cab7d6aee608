using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Writ.Core.Agents;
using Writ.Core.Audit;
using Writ.Core.Common;
using Writ.Core.Policy;
using Writ.Core.Storage;
using Writ.Core.Tokens;
using Writ.Server.Auth;
using Writ.Server.Hosting;
using Writ.Server.Http;
using Writ.Server.Secrets;

namespace Writ.Server.Gateway;

/// <summary>
/// The HTTP tool gateway, <c>/gw/{resource}/{path}</c>: the agent calls a tool with its DPoP-bound token and never
/// holds the upstream secret (DESIGN flow step 4, invariants 2, 3, 4, 7). Every call goes through one sequential
/// pipeline: path → headers → token and proof → resource in the token's environment → route → scope →
/// restrictions → audit the decision → inject the credential → forward → scrub → audit the outcome.
/// </summary>
internal static partial class GatewayEndpoints
{
    public const string Prefix = "/gw/";

    public static IEndpointRouteBuilder MapGateway(this IEndpointRouteBuilder app)
    {
        app.Map("/gw/{resource}", HandleAsync);
        app.Map("/gw/{resource}/{**path}", HandleAsync);
        return app;
    }

    /// <summary>The facts of one call, filled in as the checks pass, for its audit record.</summary>
    private sealed class Call(string resource, string method)
    {
        public string Resource { get; } = resource;
        public string Method { get; } = method;
        public string? Path { get; set; }
        public string? Query { get; set; }
        public AccessTokenClaims? Claims { get; set; }
        public string ActorKind { get; set; } = ActorKinds.Unknown;
        public string? Action { get; set; }
        public int? PolicyVersion { get; set; }
        public DpopProof? Proof { get; set; }
    }

    private static async Task HandleAsync(HttpContext http, string resource)
    {
        var sp = http.RequestServices;
        var clock = sp.GetRequiredService<TimeProvider>();
        var audit = sp.GetRequiredService<AuditLog>();
        var started = clock.GetTimestamp();
        var call = new Call(resource, http.Request.Method);

        var decision = await CheckAsync(http, call, sp);
        if (!decision.IsSuccess)
        {
            var e = decision.Error!;
            await RecordAsync(audit, clock, call, Decisions.Deny, e.Code, null, 0, started, http.RequestAborted);
            if (e.Code.StartsWith("auth.", StringComparison.Ordinal) || e.Code.StartsWith("token.", StringComparison.Ordinal) || e.Code.StartsWith("dpop.", StringComparison.Ordinal))
                http.Response.Headers.WWWAuthenticate = "DPoP error=\"invalid_token\"";
            await WriteProblemAsync(http, StatusOf(e.Code), e.Code, e.Message);
            return;
        }
        await ForwardAsync(http, call, decision.Value, sp, clock, audit, started);
    }

    /// <param name="CheckedQuery">The query rebuilt from the pairs the account check read, forwarded instead of the raw one; null when no check read it.</param>
    private sealed record Plan(GatewayTarget Target, RouteMatch Route, IReadOnlyList<string> Segments, string? CheckedQuery);

    private static async Task<Result<Plan>> CheckAsync(HttpContext http, Call call, IServiceProvider sp)
    {
        // 1. The path, from the raw request target, decoded once; anything ambiguous is refused.
        var raw = RawPath(http);
        var prefix = Prefix + call.Resource;
        if (raw is null || !raw.StartsWith(prefix, StringComparison.Ordinal) || (raw.Length > prefix.Length && raw[prefix.Length] != '/'))
            return new Error("gateway.bad_path", "the resource name in the path must be written plainly");
        var segments = GatewayPath.Parse(raw[prefix.Length..]);
        if (!segments.IsSuccess) return segments.Error!;
        call.Path = GatewayPath.Format(segments.Value);
        call.Query = RedactQuery(http.Request.Query);

        // 2. Headers that could frame or route the message differently upstream.
        if (UpstreamForwarder.CheckRequestHeaders(http.Request) is { } bad) return new Error("gateway.bad_header", bad);

        // 3. Token and proof: signature, expiry, audience = this resource, revocation, task open, agent active,
        //    DPoP bound to cnf.jkt with htm/htu/ath, replay (RFC 9449 §7).
        var live = await sp.GetRequiredService<BoundTokenAuthenticator>().AuthenticateLiveAsync(http, call.Resource);
        if (!live.IsSuccess) return live.Error!;
        var c = live.Value.Claims;
        call.Claims = c;
        call.ActorKind = live.Value.Agent.Kind;
        call.Proof = live.Value.Proof;

        // 4. The resource in the token's environment: a staging token only ever reaches the staging upstream (invariant 2).
        var policy = sp.GetRequiredService<PolicyHolder>().Current;
        call.PolicyVersion = policy?.Version;
        if (policy is null || !policy.Model.Resources.TryGetValue(call.Resource, out var res))
            return new Error("gateway.unknown_resource", $"no resource {call.Resource} in the policy in force");
        if (!res.Environments.TryGetValue(c.Environment, out var env))
            return new Error("gateway.environment_mismatch", $"{call.Resource} does not exist in {c.Environment}, the environment of this credential");
        if (env.Gateway is not { } target)
            return new Error("gateway.no_upstream", $"{call.Resource} has no upstream in {c.Environment}");

        // 5. Route → action; anything unmapped is denied.
        var match = target.Routes.Match(http.Request.Method, segments.Value, out var lookalike);
        if (lookalike == RouteLookalike.Case)
            return new Error("gateway.route_case_mismatch", $"{http.Request.Method} {call.Path} differs only in letter case from a mapped route of {call.Resource}: write the path as the route does");
        if (lookalike == RouteLookalike.Suffix)
            return new Error("gateway.route_lookalike", $"{http.Request.Method} {call.Path} names a mapped route of {call.Resource} with a suffix ('.json', ';x', trailing dots or spaces) that an upstream may ignore: write the path as the route does");
        if (match is null) return new Error("gateway.route_not_mapped", $"{http.Request.Method} {call.Path} is not a mapped route of {call.Resource}");
        call.Action = match.Route.Action;

        // 6. The action must be in the token's scope.
        if (!c.HasScope(call.Resource + ":" + match.Route.Action))
            return new Error("gateway.action_not_in_scope", $"this route is {call.Resource}:{match.Route.Action}, which the credential's scope does not include");

        // 7. Restrictions carried by the token.
        if (c.Restrictions.Contains(PolicyRestrictions.NoDelete)
            && (HttpMethods.IsDelete(http.Request.Method) || PolicyActions.IsDeleteClass(match.Route.Action)))
            return new Error("gateway.restricted", "the credential is restricted to no-delete");
        if (c.Restrictions.Contains(PolicyRestrictions.NoBulk))
        {
            if (match.Route.Bulk) return new Error("gateway.restricted", "this route is marked bulk and the credential is restricted to no-bulk");
            if (target.MaxBodyBytes is { } max)
            {
                if (http.Request.ContentLength is null && http.Request.Headers.TransferEncoding.Count > 0)
                    return new Error("gateway.restricted", "under no-bulk the body must have a Content-Length");
                if (http.Request.ContentLength > max)
                    return new Error("gateway.restricted", $"under no-bulk the body may be at most {max} bytes");
            }
        }
        string? checkedQuery = null;
        if (c.Restrictions.Contains(PolicyRestrictions.NoCrossAccount))
        {
            string? account;
            if (target.Account is { QueryParam: { } q })
            {
                var found = AccountParameter.Find(http.Request.QueryString.Value, q);
                if (!found.IsSuccess) return found.Error!;
                account = found.Value.Account;
                checkedQuery = found.Value.Query;
            }
            else account = target.Account is { PathParam: { } p } ? match.Parameters.GetValueOrDefault(p) : null;
            if (account is null) return new Error("gateway.account_unknown", "under no-cross-account the call must name its account as the policy says");
            if (!AccountMatches(account, c.Target))
                return new Error("gateway.cross_account", "the call names another account than the credential's target");
        }
        return new Plan(target, match, segments.Value, checkedQuery);
    }

    /// <summary>The account must equal the token's target, or its last '/'-separated part (<c>customers/12345</c> → <c>12345</c>).</summary>
    private static bool AccountMatches(string account, string? target)
    {
        if (string.IsNullOrEmpty(target)) return false;
        var last = target[(target.LastIndexOf('/') + 1)..];
        return string.Equals(account, target, StringComparison.Ordinal) || string.Equals(account, last, StringComparison.Ordinal);
    }

    private static async Task ForwardAsync(HttpContext http, Call call, Plan plan, IServiceProvider sp, TimeProvider clock, AuditLog audit, long started)
    {
        var forwarder = sp.GetRequiredService<UpstreamForwarder>();
        var ct = http.RequestAborted;

        // The credential, opened only now, only in memory.
        string? secret = null;
        if (plan.Target.Credential is { } credential)
        {
            var bytes = await sp.GetRequiredService<IUpstreamSecrets>().OpenLatestAsync(credential.Secret, ct);
            if (bytes is null)
            {
                await RecordAsync(audit, clock, call, Decisions.Deny, "gateway.secret_missing", null, 0, started, ct);
                await WriteProblemAsync(http, 502, "gateway.secret_missing", $"the upstream credential of {call.Resource} is not stored (writ secret put {credential.Secret})");
                return;
            }
            secret = Encoding.UTF8.GetString(bytes);
            CryptographicOperations.ZeroMemory(bytes);
        }
        var (header, value, queryName) = plan.Target.Credential switch
        {
            HeaderInjection h => (h.Header, h.Render(secret!), (string?)null),
            BasicInjection b => ("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(b.Username + ":" + secret)), null),
            QueryInjection q => (null, null, q.Parameter),
            _ => ((string?)null, (string?)null, (string?)null),
        };
        var scrub = secret is null ? SecretMatcher.None : SecretMatcher.For(secret, value);

        var targetUri = new Uri(plan.Target.Upstream.AbsoluteUri + GatewayPath.Format(plan.Segments)[1..] + Query(http.Request, plan.CheckedQuery, queryName, secret));

        using var request = forwarder.BuildRequest(http.Request, targetUri, header, value);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(forwarder.Options.UpstreamTimeout);

        // The decision is durable before the agent sees anything (invariant 7). A call that may change something upstream
        // waits for it before anything leaves. A read (GET or HEAD on a read route: safe, RFC 9110 §9.2.1) is sent first and
        // its decision committed while the upstream works (on this thread when the audit writer is idle), its answer held
        // until the commit is done, so the fsync and the upstream round trip overlap instead of adding up; if the audit
        // fails, the answer is dropped and the call fails.
        // The record is committed even if the agent hangs up meanwhile (CancellationToken.None): once the request may be
        // on its way upstream, the log must say so.
        var safe = call.Action == PolicyActions.Read && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method));
        // The proof goes with the decision: the server taking a standalone gateway's records refuses a proof another
        // gateway process following it has already used, and the decision comes back as a deny (RefusedAsync).
        var proof = call.Proof is { } p ? new ProofUse(p.Jkt, p.Jti, p.IssuedAt) : null;
        var sent = safe ? forwarder.SendAsync(request, timeout.Token) : null;
        var decided = audit.RecordAsync(Event(clock, call, Decisions.Allow, null, null, 0, started, outcome: false), null, safe ? CancellationToken.None : ct, proof);
        if (!safe && await RefusedAsync(http, decided)) return;
        // Every path that answers the agent awaits it; this only keeps a failure on an unexpected path from going unobserved.
        _ = decided.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

        HttpResponseMessage upstream;
        try
        {
            upstream = await (sent ?? forwarder.SendAsync(request, timeout.Token));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The agent hung up while the upstream was answering: nothing to send, but the decision must still be durable.
            await decided;
            throw;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            if (await RefusedAsync(http, decided)) return;
            await RecordAsync(audit, clock, call, Decisions.Info, "gateway.upstream_timeout", null, 0, started, ct);
            await WriteProblemAsync(http, 504, "gateway.upstream_timeout", $"{call.Resource} did not answer within {forwarder.Options.UpstreamTimeout.TotalSeconds:0} s");
            return;
        }
        catch (HttpRequestException)
        {
            // The exception text can name the upstream host and port; the agent gets the code only.
            if (await RefusedAsync(http, decided)) return;
            await RecordAsync(audit, clock, call, Decisions.Info, "gateway.upstream_unreachable", null, 0, started, ct);
            await WriteProblemAsync(http, 502, "gateway.upstream_unreachable", $"{call.Resource} could not be reached");
            return;
        }

        using (upstream)
        {
            if (await RefusedAsync(http, decided)) return;
            // A body the upstream compressed anyway (the agent's Accept-Encoding is not forwarded) is decoded so the
            // scrubber sees the credential; one in a coding the gateway cannot decode never reaches the agent.
            var codings = UpstreamForwarder.ContentCodings(upstream);
            var decode = !scrub.IsEmpty && codings.Count > 0 && !HttpMethods.IsHead(http.Request.Method);
            var foreignTransfer = !scrub.IsEmpty && UpstreamForwarder.HasForeignTransferCoding(upstream);
            if ((decode && !UpstreamForwarder.CanDecode(codings)) || foreignTransfer)
            {
                await RecordAsync(audit, clock, call, Decisions.Info, "gateway.upstream_encoding", (int)upstream.StatusCode, 0, started, ct);
                await WriteProblemAsync(http, 502, "gateway.upstream_encoding", foreignTransfer
                    ? $"{call.Resource} answered in a Transfer-Encoding other than chunked, which the gateway cannot scrub"
                    : $"{call.Resource} answered in a Content-Encoding the gateway cannot scrub ({string.Join(", ", codings)}); gzip, deflate and br, at most two stacked, are decoded");
                return;
            }
            try
            {
                UpstreamForwarder.CopyResponseHeaders(upstream, http.Response, scrub, dropContentEncoding: decode);
                if (HttpMethods.IsHead(http.Request.Method))
                {
                    // No body (RFC 9110 §9.3.2); the upstream's Content-Length describes the GET it stands for.
                    if (upstream.Content.Headers.ContentLength is { } headLength) http.Response.ContentLength = headLength;
                    await RecordAsync(audit, clock, call, Decisions.Info, null, (int)upstream.StatusCode, 0, started, ct);
                }
                else if (UpstreamForwarder.IsScrubbable(upstream, forwarder.Options.MaxScrubbedBodyBytes))
                {
                    var body = scrub.Replace(await upstream.Content.ReadAsByteArrayAsync(timeout.Token));
                    await RecordAsync(audit, clock, call, Decisions.Info, null, (int)upstream.StatusCode, body.Length, started, ct);
                    http.Response.ContentLength = body.Length;
                    await http.Response.Body.WriteAsync(body, ct);
                }
                else
                {
                    // Streamed without buffering the whole body, decoded first if compressed; every chunk goes through the
                    // scrubber; the length may then change, so the response is sent chunked.
                    var scrubber = scrub.IsEmpty ? null : new StreamingScrubber(scrub);
                    if (scrubber is null && upstream.Content.Headers.ContentLength is { } length) http.Response.ContentLength = length;
                    var raw = await upstream.Content.ReadAsStreamAsync(ct);
                    await using var stream = decode ? UpstreamForwarder.Decode(raw, codings) : raw;
                    var bytes = 0L;
                    var buffer = new byte[16 * 1024];
                    int read;
                    while ((read = await stream.ReadAsync(buffer, ct)) > 0)
                    {
                        if (decode && bytes + read > forwarder.Options.MaxDecodedBodyBytes)
                            throw new InvalidDataException("the decoded body is larger than the gateway decodes");
                        if (scrubber is null) await http.Response.Body.WriteAsync(buffer.AsMemory(0, read), ct);
                        else await http.Response.Body.WriteAsync(scrubber.Push(buffer.AsSpan(0, read)), ct);
                        bytes += read;
                    }
                    if (scrubber is not null) await http.Response.Body.WriteAsync(scrubber.Flush(), ct);
                    await RecordAsync(audit, clock, call, Decisions.Info, null, (int)upstream.StatusCode, bytes, started, ct);
                }
            }
            // BrotliStream reports corrupt input as InvalidOperationException; GZip/Deflate as InvalidDataException.
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException || (e is InvalidOperationException && decode)
                                      || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                // The upstream died or stalled while sending its body, or sent a corrupt compressed one: the agent gets
                // a clear 502/504 if nothing was sent yet (else the connection is cut, so a truncated body is never
                // taken as whole), and the outcome is audited either way.
                var code = e is OperationCanceledException ? "gateway.upstream_timeout" : "gateway.upstream_broken";
                await RecordAsync(audit, clock, call, Decisions.Info, code, (int)upstream.StatusCode, 0, started, ct);
                if (http.Response.HasStarted)
                {
                    http.Abort();
                }
                else
                {
                    http.Response.Clear();
                    await WriteProblemAsync(http, code == "gateway.upstream_timeout" ? 504 : 502, code, $"{call.Resource} failed while sending its response");
                }
            }
        }
    }

    /// <summary>
    /// Waits for the allow decision to be durable; true (and the agent answered 401) if it came back a deny: the audit
    /// log behind a standalone gateway had already seen the call's DPoP proof, used at another gateway process.
    /// </summary>
    private static async Task<bool> RefusedAsync(HttpContext http, Task<AuditRecord> decided)
    {
        var record = await decided;
        if (record.Event.Decision != Decisions.Deny) return false;
        http.Response.Headers.WWWAuthenticate = "DPoP error=\"invalid_token\"";
        await WriteProblemAsync(http, 401, record.Event.Reason ?? DpopErrors.Replayed, "this proof was already used (jti), at another gateway");
        return true;
    }

    /// <summary>
    /// The agent's query (as the account check rebuilt it, if one read it), with the injected parameter (if any)
    /// removed from it and then set by the gateway.
    /// </summary>
    private static string Query(HttpRequest request, string? checkedQuery, string? injected, string? secret)
    {
        var raw = checkedQuery ?? request.QueryString.Value ?? "";
        if (injected is null) return raw;
        var query = checkedQuery is null ? request.Query : new QueryCollection(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(checkedQuery));
        var pairs = query.Where(q => !string.Equals(q.Key, injected, StringComparison.Ordinal))
            .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
            .Append(new KeyValuePair<string, string?>(injected, secret));
        return QueryString.Create(pairs).Value ?? "";
    }

    /// <summary>
    /// Audit record of one gateway call: <c>gateway.call</c> for the decision, <c>gateway.result</c> for what the upstream answered.
    /// Decisions (allow before forwarding, every deny) are durable before anything leaves (invariant 7). The outcome of a
    /// forwarded call is deferred to the next group commit: its decision is already durable, the upstream has already
    /// answered, and holding the response for a second commit would double the audit cost of every call.
    /// </summary>
    private static Task RecordAsync(AuditLog audit, TimeProvider clock, Call call, string decision, string? reason, int? status, long bytes, long started, CancellationToken ct, bool outcome = true)
    {
        var e = Event(clock, call, decision, reason, status, bytes, started, outcome);
        if (outcome && decision != Decisions.Deny)
        {
            audit.Defer(e);
            return Task.CompletedTask;
        }
        return audit.RecordAsync(e, null, ct);
    }

    private static AuditEvent Event(TimeProvider clock, Call call, string decision, string? reason, int? status, long bytes, long started, bool outcome)
    {
        var c = call.Claims;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("method", call.Method);
            if (call.Path is not null) w.WriteString("path", call.Path.Length > MaxAuditedPath ? call.Path[..MaxAuditedPath] + "…" : call.Path);
            if (!string.IsNullOrEmpty(call.Query)) w.WriteString("query", call.Query);
            if (call.Action is not null) w.WriteString("route_action", call.Action);
            if (status is { } s) w.WriteNumber("upstream_status", s);
            if (outcome && decision != Decisions.Deny) w.WriteNumber("bytes", bytes);
            w.WriteEndObject();
        }
        var action = outcome && decision != Decisions.Deny ? "gateway.result" : "gateway.call";
        var scope = call.Action is null ? null : call.Resource + ":" + call.Action;
        // The resource comes from the path before anything is checked: bounded like any unauthenticated input.
        return new AuditEvent(clock.GetUtcNow(), call.ActorKind, c?.Subject ?? "unknown", c?.OnBehalfOf, c?.TaskId, action,
            Agents.AgentEndpoints.Bounded(call.Resource), c?.Environment, scope, c?.Target, decision, reason, call.PolicyVersion,
            (long)clock.GetElapsedTime(started).TotalMicroseconds, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private const int MaxAuditedPath = 2048;

    [GeneratedRegex("(token|key|secret|pass|pwd|auth|sig|credential|session|code|jwt|bearer|cookie)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    internal static partial Regex SecretLooking();

    /// <summary>The query for the audit: values of parameters whose names look secret are replaced; at most 512 characters.</summary>
    private static string RedactQuery(IQueryCollection query)
    {
        if (query.Count == 0) return "";
        var text = string.Join('&', query.SelectMany(q => q.Value.Select(v =>
            Uri.EscapeDataString(q.Key) + "=" + (SecretLooking().IsMatch(q.Key) ? "[redacted]" : Uri.EscapeDataString(v ?? "")))));
        return text.Length > 512 ? text[..512] + "…" : text;
    }

    private static string? RawPath(HttpContext http)
    {
        var target = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target) || target[0] != '/') target = (http.Request.PathBase + http.Request.Path).ToUriComponent();
        var q = target.IndexOf('?');
        return q >= 0 ? target[..q] : target;
    }

    private static int StatusOf(string code) => code switch
    {
        "gateway.bad_path" or "gateway.bad_header" => 400,
        "gateway.unknown_resource" or "gateway.no_upstream" => 404,
        _ when code.StartsWith("gateway.", StringComparison.Ordinal) => 403,
        _ when code.StartsWith("token.", StringComparison.Ordinal) || code.StartsWith("auth.", StringComparison.Ordinal) || code.StartsWith("dpop.", StringComparison.Ordinal) => 401,
        _ => Problems.StatusOf(code),
    };

    private static Task WriteProblemAsync(HttpContext http, int status, string code, string detail)
    {
        if (http.Response.HasStarted) return Task.CompletedTask;
        return Problems.WriteAsync(http, status, code, detail);
    }
}
