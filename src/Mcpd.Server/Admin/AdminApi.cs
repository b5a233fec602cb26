using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Security;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Mcpd.Server.Admin;

/// <summary>
/// The HTTP admin API (docs/api.md), served on the admin listener, the only one that speaks HTTP, and its protection
/// (docs/security.md): Host names, CORS origins, callers (client certificates, bearer tokens) and their roles. Session
/// ids are shown as logs show them (<see cref="SessionIds.Redact"/>): a whole id resumes its session. Services are
/// marked [FromServices]: minimal APIs would otherwise take ISessionStore.BindAsync for a parameter binder.
/// </summary>
internal static class AdminApi
{
    /// <summary>Prometheus text of the <c>Mcpd</c> meter (docs/observability.md), unless <c>telemetry:metrics:enabled</c> is false.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Registers what the protection of <see cref="UseProtection"/> and the endpoints' policies need.</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<AdminAuthFailures>();
        services.AddSingleton<AdminAccess>();
        services.AddAuthentication(AdminAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, AdminAuthenticationHandler>(AdminAuthenticationHandler.SchemeName, configureOptions: null);
        services.AddSingleton<IAuthorizationHandler, AdminAccessHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AdminAuthorizationResults>();
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminAccess.ReadPolicy, policy => policy.AddRequirements(new AdminAccessRequirement(AccessKind.Read)))
            .AddPolicy(AdminAccess.WritePolicy, policy => policy.AddRequirements(new AdminAccessRequirement(AccessKind.Write)));
        // Origins are read per request, so admin.cors.origins follows a reload; with none, no CORS header is ever sent.
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptionsMonitor<AdminOptions>>((cors, admin) => cors.AddDefaultPolicy(policy => policy
            .SetIsOriginAllowed(origin => admin.CurrentValue.Cors.Origins.Contains(origin, StringComparer.OrdinalIgnoreCase))
            .WithMethods(HttpMethods.Get, HttpMethods.Put)
            .WithHeaders(HeaderNames.Authorization, HeaderNames.ContentType)));
    }

    /// <summary>
    /// The request pipeline before the endpoints: Host first (a rebinding page learns nothing, not even a 401), CORS
    /// (a preflight is answered before any token is asked for), then who the caller is and what the endpoint needs.
    /// </summary>
    public static void UseProtection(IApplicationBuilder app)
    {
        app.UseMiddleware<AdminHostFilter>();
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        // The probes are open to load balancers: no token, any Host.
        endpoints.MapGet("/healthz", () => Results.Text("ok\n")).AllowAnonymous();
        endpoints.MapHealthChecks("/readyz", Readiness.Serving).AllowAnonymous();
        endpoints.MapHealthChecks("/readyz/sessions", Readiness.Sessions).AllowAnonymous();
        DeviceEndpoints.Map(endpoints);
        endpoints.MapGet("/api/connections", ([FromServices] ConnectionRegistry connections, [FromServices] TimeProvider time) =>
            Results.Json(new[] { ListenerNames.Modbus, ListenerNames.Mcp, ListenerNames.McpCrc }
                .SelectMany(connections.Snapshot)
                .Select(c => new
                {
                    id = c.Id,
                    listener = c.Listener,
                    remote = c.RemoteEndPoint?.ToString(),
                    connectedAt = c.ConnectedAt,
                    idleSeconds = Math.Round(time.GetElapsedTime(c.LastActivityTimestamp).TotalSeconds, 3),
                    requests = c.Requests,
                    // A connection that lost its session to a newer one holds it no more (docs/sessions.md, "One owner").
                    session = c.Mcp?.BoundSession is { } session && session is not SessionHandle { IsLost: true } ? SessionIds.Redact(session.Id) : null,
                }))).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapGet("/api/sessions", async ([FromServices] ISessionStore store, int? limit, CancellationToken cancellationToken) =>
        {
            try
            {
                var sessions = await store.ListAsync(Math.Clamp(limit ?? 100, 1, 10_000), cancellationToken);
                return Results.Json(new
                {
                    store = store.Kind,
                    sessions = sessions.Select(s => new { id = SessionIds.Redact(s.Id), clientId = s.ClientId, ttlSeconds = s.Ttl.TotalSeconds, createdAt = s.CreatedAt, node = s.Binding?.NodeId, connection = s.Binding?.ConnectionId }),
                });
            }
            catch (SessionStoreUnavailableException ex)
            {
                return AdminErrors.Json(StatusCodes.Status503ServiceUnavailable, ex.Message);
            }
        }).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapGet("/api/upstreams", ([FromServices] McpServerInfo info) => Results.Json(info.Upstreams())).RequireAuthorization(AdminAccess.ReadPolicy);
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value.Metrics.Enabled)
        {
            endpoints.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(AdminAccess.ReadPolicy);
        }
    }
}
