using Mcpd.Client.Mcp;
using Mcpd.Server.Admin;
using Mcpd.Server.Agent;
using Mcpd.Server.Configuration;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Mcpd.Server.Persistence;
using Mcpd.Server.Routing;
using Mcpd.Server.Security;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Mcpd.Server.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
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
        DurationConverter.Register();
        // The whole configuration: validated at start (sections refer to each other), read by the command line.
        services.AddOptions<McpdOptions>().BindChecked(configuration).ValidateOnStart();
        services.AddSingleton<IValidateOptions<McpdOptions>, McpdOptionsValidator>();
        services.AddSingleton<ReloadStatus>();
        // Each class takes the sections it reads.
        services.AddSectionOptions<ModbusServerOptions>(configuration.GetSection(McpdSections.Modbus));
        services.AddSectionOptions<McpServerOptions>(configuration.GetSection(McpdSections.Mcp));
        services.AddSectionOptions<AdminOptions>(configuration.GetSection(McpdSections.Admin));
        services.AddSectionOptions<AgentOptions>(configuration.GetSection(McpdSections.Agent));
        services.AddSectionOptions<SessionsOptions>(configuration.GetSection(McpdSections.Sessions));
        services.AddSectionOptions<ClusterOptions>(configuration.GetSection(McpdSections.Cluster));
        services.AddSectionOptions<TelemetryOptions>(configuration.GetSection(McpdSections.Telemetry));
        services.AddSectionOptions<SecurityOptions>(configuration.GetSection(McpdSections.Security));
        services.AddSectionOptions<TransportOptions>(configuration.GetSection(McpdSections.Transport));
        services.AddSectionOptions<PersistenceOptions>(configuration.GetSection(McpdSections.Persistence));
        services.AddSectionOptions<DevicesOptions>(configuration);
        services.AddSectionOptions<UpstreamsOptions>(configuration);
        services.AddSectionOptions<RouterOptions>(configuration);
        services.AddMcpdTelemetry(configuration.GetSection(McpdSections.Telemetry));
        services.TryAddSingleton(TimeProvider.System);
        services.AddGateway();
        services.AddSingleton<DeviceRegistry>();
        // Before the generators (they then move their registers from the restored values) and before Kestrel (which
        // the host starts after every service registered here, and stops first, so the final save follows the drain).
        services.AddHostedService<DeviceStatePersistence>();
        services.AddSingleton<RegisterGeneratorService>();
        services.AddHostedService(provider => provider.GetRequiredService<RegisterGeneratorService>());
        services.AddHostedService<DeviceReloader>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<ListenerEndpoints>();
        services.AddSingleton<McpServerInfo>();
        services.AddSingleton<ISessionStore>(provider => SessionStores.Create(provider));
        services.TryAddSingleton<ISessionAuthenticator, StaticTokenAuthenticator>();
        services.AddSingleton<ClusterNode>();
        services.AddHostedService(provider => provider.GetRequiredService<ClusterNode>());
        services.AddSingleton<SessionOpenLimiter>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<McpMethodTable>();
        services.AddSingleton<ModbusPduMethod>();
        services.AddSingleton<BuiltInMethods>();
        services.AddSingleton<IMcpRequestDispatcher, McpDispatcher>();
        services.AddSingleton<McpRouter>();
        services.AddHostedService(provider => provider.GetRequiredService<McpRouter>());
        services.AddSingleton<IncompleteFrameBudget>();
        services.AddSingleton<RunningRequestBudget>();
        services.AddSingleton<McpServices>();
        services.AddHostedService<IncompleteFrameMemoryTrimmer>();
        services.AddSingleton<McpConnectionHandler>();
        services.AddSingleton<ModbusServices>();
        services.AddSingleton<ModbusConnectionHandler>();
        services.AddSingleton<RolePolicies>();
        services.AddSingleton<TlsListeners>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, McpdKestrelSetup>();
        // Kestrel's socket transport, when it serves: its input limit must also hold the largest frame.
        services.AddOptions<SocketTransportOptions>().Configure<IOptions<McpServerOptions>>((sockets, mcp) => sockets.MaxReadBufferSize = mcp.Value.MaxInputBuffer);
        services.AddHostedService<ConnectionIdleMonitor>();
        services.AddHostedService<ListenerAnnouncer>();
        var transport = configuration.GetSection(McpdSections.Transport).Get<TransportOptions>() ?? new TransportOptions();
        if (transport.Effective == TransportKind.Epoll && EpollTransport.IsSupported)
        {
            // Registered after Kestrel's socket transport, so Kestrel picks it first for the TCP endpoints it can bind.
            services.AddSingleton<EpollTransportFactory>();
            services.AddSingleton<IConnectionListenerFactory>(provider => provider.GetRequiredService<EpollTransportFactory>());
            // The gateway's upstream connections run on the same loops.
            services.AddSingleton<IConnectionFactory>(provider => provider.GetRequiredService<EpollTransportFactory>());
            services.AddOptions<EpollTransportOptions>().Configure<IOptions<TransportOptions>, IOptions<McpServerOptions>>((epoll, settings, mcp) =>
            {
                epoll.IoThreads = settings.Value.EffectiveIoThreads;
                epoll.MaxReadBufferSize = mcp.Value.MaxInputBuffer;
                epoll.ApplicationScheduling = settings.Value.ApplicationScheduling;
            });
        }

        return services;
    }

    /// <summary>Serves MCP requests for <paramref name="method"/> with <paramref name="handler"/> (see <see cref="McpMethodTable"/>).</summary>
    public static IServiceCollection AddMcpMethod(this IServiceCollection services, string method, McpRequestHandler handler) =>
        services.AddSingleton(new McpMethodRegistration(method, handler));

    /// <summary>Serves <paramref name="device"/> on <paramref name="unit"/>, in place of any configured device.</summary>
    public static IServiceCollection AddModbusDevice(this IServiceCollection services, byte unit, IModbusDevice device) =>
        services.AddSingleton(new ModbusDeviceRegistration(unit, device));
}
