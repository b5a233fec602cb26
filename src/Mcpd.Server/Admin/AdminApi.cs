using Mcpd.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Admin;

/// <summary>The HTTP admin API (docs/api.md), served only on the admin listener.</summary>
internal static class AdminApi
{
    /// <summary>Prometheus text of the <c>Mcpd</c> meter (docs/observability.md), unless <c>telemetry:metrics:enabled</c> is false.</summary>
    public const string MetricsPath = "/metrics";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("ok\n"));
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<McpdOptions>>().Value.Telemetry.Metrics.Enabled)
        {
            endpoints.MapPrometheusScrapingEndpoint(MetricsPath);
        }
    }
}
