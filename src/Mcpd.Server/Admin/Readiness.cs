using System.Text.Json;
using Mcpd.Server.Sessions;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Mcpd.Server.Admin;

/// <summary>
/// The readiness probes (docs/api.md). <c>/readyz</c>: this node can serve (every listener bound): Modbus and MCP
/// without sessions work even while the session store is down, which makes it <c>Degraded</c> (200), so that a Redis
/// outage does not take every node of a cluster out of a load balancer at once. <c>/readyz/sessions</c>: sessions work
/// too; 503 while the session store cannot be reached. An upstream that is down makes neither unready (its devices
/// answer 0x0B).
/// </summary>
internal static class Readiness
{
    /// <summary><c>/readyz</c>: a session store that is down makes it Degraded, answered 200.</summary>
    public static HealthCheckOptions Serving { get; } = new() { ResponseWriter = WriteAsync };

    /// <summary><c>/readyz/sessions</c>: Degraded (the session store is down) is answered 503.</summary>
    public static HealthCheckOptions Sessions { get; } = new()
    {
        ResponseWriter = WriteAsync,
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }));
    }
}

/// <summary>The listeners are bound: the host has started.</summary>
internal sealed class ListenersHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Healthy("listening")
            : HealthCheckResult.Unhealthy(lifetime.ApplicationStopping.IsCancellationRequested ? "stopping" : "starting"));
}

/// <summary>The session store answers (always, in memory; a round trip, in Redis); else the registration's failure status (Degraded).</summary>
internal sealed class SessionStoreHealthCheck(ISessionStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.TouchAsync("readyz-probe", cancellationToken);
            return HealthCheckResult.Healthy($"{store.Kind} store reachable");
        }
        catch (SessionStoreUnavailableException ex)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{store.Kind} store unreachable: {ex.Message}");
        }
    }
}
