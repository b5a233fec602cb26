using Mcpd.Server.Admin;
using Mcpd.Server.Agent;
using Mcpd.Server.Configuration;
using Mcpd.Server.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Hosting;

/// <summary>
/// Builds the mcpd host: an empty Generic Host (no implicit config sources, no HTTP pipeline) with Kestrel serving
/// the protocol listeners. The executable and the integration tests build it the same way.
/// </summary>
public static class McpdHost
{
    /// <summary>The section of log levels per category.</summary>
    public const string LoggingSection = McpdSections.Logging;

    /// <summary>Builds a host over <paramref name="configuration"/>; <paramref name="configure"/> adds logging providers or services.</summary>
    public static WebApplication Build(IConfiguration configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "mcpd" });
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseKestrelCore();
        builder.Logging.AddConfiguration(configuration.GetSection(LoggingSection));
        builder.Services.AddMcpdServer(configuration);
        builder.Services.AddRouting();
        AdminApi.AddServices(builder.Services);
        AgentEndpoint.AddServices(builder.Services);
        DashboardEndpoints.AddServices(builder.Services);
        builder.Services.AddHealthChecks()
            .AddCheck<ListenersHealthCheck>("listeners")
            .AddCheck<SessionStoreHealthCheck>("sessions", failureStatus: HealthStatus.Degraded);
        configure?.Invoke(builder);
        var app = builder.Build();
        // The admin listener is the only one speaking HTTP: the protocol listeners run their own connection handlers.
        AdminApi.UseProtection(app);
        AdminApi.Map(app);
        AgentEndpoint.Map(app);
        DashboardEndpoints.Map(app);
        return app;
    }
}
