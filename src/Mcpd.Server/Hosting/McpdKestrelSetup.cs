using System.Net;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Admin;
using Mcpd.Server.Configuration;
using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Hosting;

/// <summary>
/// Puts mcpd's protocol listeners on Kestrel, each with its connection handler, and TLS under those that have a
/// certificate (<see cref="TlsListenerSetup"/>). The files of every TLS listener are read here, so a certificate
/// that cannot be used fails the start.
/// </summary>
internal sealed class McpdKestrelSetup(
    IOptions<ModbusServerOptions> modbus, IOptions<McpServerOptions> mcp, IOptions<AdminOptions> admin, ListenerEndpoints endpoints,
    TlsListeners tls, McpdMetrics metrics, TimeProvider time, ILoggerFactory loggers) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        Listen(kestrel, modbus.Value.Bind, modbus.Value.Port, ListenerNames.Modbus, null, listener => UseModbus(listener, ListenerNames.Modbus));
        if (modbus.Value.Tls.Port is { } securePort)
        {
            Listen(kestrel, modbus.Value.Tls.Bind, securePort, ListenerNames.ModbusSecure, (modbus.Value.Tls, "modbus:tls"), listener => UseModbus(listener, ListenerNames.ModbusSecure));
        }

        (TlsOptions, string)? mcpTls = mcp.Value.Tls.IsEnabled ? (mcp.Value.Tls, "mcp:tls") : null;
        Listen(kestrel, mcp.Value.Bind, mcp.Value.Port, ListenerNames.Mcp, mcpTls, listener => UseMcp(listener, McpFraming.Plain));
        if (mcp.Value.CrcPort is { } crcPort)
        {
            Listen(kestrel, mcp.Value.Bind, crcPort, ListenerNames.McpCrc, mcpTls, listener => UseMcp(listener, McpFraming.Crc));
        }

        if (admin.Value.Enabled)
        {
            // HTTP/1.1 through the application's request pipeline (AdminApi).
            Listen(kestrel, admin.Value.Bind, admin.Value.Port, ListenerNames.Admin, admin.Value.Tls.IsEnabled ? (admin.Value.Tls, "admin:tls") : null,
                listener => listener.Protocols = HttpProtocols.Http1);
        }
    }

    private static void UseModbus(ListenOptions listener, string name)
    {
        var handler = listener.ApplicationServices.GetRequiredService<ModbusConnectionHandler>();
        listener.Run(connection => handler.OnConnectedAsync(connection, name));
    }

    private static void UseMcp(ListenOptions listener, McpFraming framing)
    {
        var handler = listener.ApplicationServices.GetRequiredService<McpConnectionHandler>();
        listener.Run(connection => handler.OnConnectedAsync(connection, framing));
    }

    private void Listen(KestrelServerOptions kestrel, string bind, int port, string name, (TlsOptions Options, string ConfigPath)? tlsOptions, Action<ListenOptions> configure)
    {
        if (!McpdOptionsValidator.TryParseBind(bind, out var address))
        {
            // The validator reports it with its key path at start; nothing to bind meanwhile.
            return;
        }

        void Configure(ListenOptions listener)
        {
            if (tlsOptions is var (options, configPath))
            {
                var credentials = new TlsCredentials(name, configPath, options, loggers.CreateLogger<TlsCredentials>());
                tls.Add(name, credentials);
                listener.UseTls(name, credentials, options.MaxConcurrentHandshakes, metrics, time, loggers.CreateLogger(typeof(TlsListenerSetup).FullName!));
            }

            configure(listener);
            endpoints.Add(name, listener);
        }

        if (address is null)
        {
            kestrel.ListenAnyIP(port, Configure);
        }
        else
        {
            kestrel.Listen(new IPEndPoint(address, port), Configure);
        }
    }
}
