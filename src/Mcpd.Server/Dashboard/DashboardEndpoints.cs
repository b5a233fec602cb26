using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Dashboard;

/// <summary>The live web dashboard on the admin listener (docs/dashboard.md): its page, its live stream and what they share.</summary>
internal static class DashboardEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<TrafficMeter>();
        services.AddSingleton<RegisterHistory>();
        services.AddSingleton<UpstreamHistory>();
        services.AddSingleton<DashboardHub>();
        services.AddHostedService(provider => provider.GetRequiredService<DashboardHub>());
    }

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        DashboardPage.Map(endpoints);
        LiveEndpoint.Map(endpoints);
        ConfigEndpoint.Map(endpoints);
    }
}
