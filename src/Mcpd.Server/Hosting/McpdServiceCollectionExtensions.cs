using Mcpd.Server.Configuration;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Hosting;

/// <summary>Registers the mcpd server in a host.</summary>
public static class McpdServiceCollectionExtensions
{
    /// <summary>
    /// Adds devices, listeners and connection management, bound to <paramref name="configuration"/> (the root of
    /// mcpd's settings) and validated at start. Kestrel must be the host's server.
    /// </summary>
    public static IServiceCollection AddMcpdServer(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<McpdOptions>().Bind(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<McpdOptions>, McpdOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<ListenerEndpoints>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, McpdKestrelSetup>();
        services.AddHostedService<ConnectionIdleMonitor>();
        services.AddHostedService<ListenerAnnouncer>();
        return services;
    }

    /// <summary>Serves <paramref name="device"/> on <paramref name="unit"/>, in place of any configured device.</summary>
    public static IServiceCollection AddModbusDevice(this IServiceCollection services, byte unit, IModbusDevice device) =>
        services.AddSingleton(new ModbusDeviceRegistration(unit, device));
}
