using Microsoft.AspNetCore.Http;
using Writ.Core.Audit;
using Writ.Server.Hosting;
using Writ.Server.Tasks;

namespace Writ.Server.Http;

/// <summary>
/// The one place exceptions become responses. Audit failure → 503 (the request fails closed,
/// invariant 7); malformed HTTP → 400/413; anything else is a bug → 500 with no exception text,
/// which could hold a secret.
/// </summary>
internal sealed class ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (AuditUnavailableException e)
        {
            Log.AuditFailed(logger, context.Request.Method, context.Request.Path, e.InnerException ?? e);
            if (!context.Response.HasStarted)
                await Problems.WriteAsync(context, 503, "audit.unavailable", "the audit log could not record this request, so it was refused");
        }
        catch (GatewayHost.ServerUnavailableException e)
        {
            // A standalone gateway that cannot ask the server whether a token still works refuses the call (fail closed).
            Log.ServerUnavailable(logger, context.Request.Method, context.Request.Path, e.InnerException ?? e);
            if (!context.Response.HasStarted)
                await Problems.WriteAsync(context, 503, "gateway.server_unavailable", "the gateway cannot reach the Writ server to check this call, so it was refused");
        }
        catch (BadHttpRequestException e)
        {
            if (!context.Response.HasStarted)
                await Problems.WriteAsync(context, e.StatusCode == 413 ? 413 : 400, e.StatusCode == 413 ? "request.too_large" : "request.malformed",
                    e.StatusCode == 413 ? "the request body is too large" : "the request is malformed");
        }
        catch (Exception e)
        {
            Log.Unhandled(logger, context.Request.Method, context.Request.Path, e);
            if (!context.Response.HasStarted)
                await Problems.WriteAsync(context, 500, "server.internal_error", "an internal error occurred; it has been logged");
        }
    }
}
