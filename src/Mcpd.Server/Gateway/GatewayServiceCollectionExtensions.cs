using Mcpd.Server.Devices;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Gateway;

/// <summary>Registers the gateway: the upstream kinds and the registry that builds the configured upstreams.</summary>
internal static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <c>tcp</c> and <c>rtu</c> upstream kinds and <see cref="UpstreamRegistry"/>, started and stopped with
    /// the host, which provides the devices behind upstreams (<see cref="IUpstreamDevices"/>).
    /// </summary>
    public static IServiceCollection AddGateway(this IServiceCollection services)
    {
        services.AddSingleton<IModbusUpstreamFactory, ModbusTcpUpstreamFactory>();
        services.AddSingleton<IModbusUpstreamFactory, ModbusRtuUpstreamFactory>();
        services.AddSingleton<UpstreamRegistry>();
        services.AddHostedService(provider => provider.GetRequiredService<UpstreamRegistry>());
        services.AddSingleton<IUpstreamDevices>(provider => provider.GetRequiredService<UpstreamRegistry>());
        return services;
    }
}
