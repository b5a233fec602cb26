using System.Text.Json;
using Mcpd.Server.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Mcpd.Server.Admin;

/// <summary>
/// <c>/readyz</c>: ready when the host has started (every listener bound) and the stores mcpd needs answer (the
/// session store; an upstream that is down does not make the server unready, it is answered 0x0B per device).
/// </summary>
internal static class Readiness
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
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

/// <summary>The session store answers (always, in memory; a round trip, in Redis).</summary>
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
            return HealthCheckResult.Unhealthy($"{store.Kind} store unreachable: {ex.Message}");
        }
    }
}
