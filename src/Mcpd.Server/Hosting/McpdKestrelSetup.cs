using System.Net;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Admin;
using Mcpd.Server.Configuration;
using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Hosting;

/// <summary>Puts mcpd's protocol listeners on Kestrel, each with its connection handler.</summary>
internal sealed class McpdKestrelSetup(
    IOptions<ModbusServerOptions> modbus, IOptions<McpServerOptions> mcp, IOptions<AdminOptions> admin, ListenerEndpoints endpoints) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        Listen(kestrel, modbus.Value.Bind, modbus.Value.Port, ListenerNames.Modbus, listener => listener.UseConnectionHandler<ModbusConnectionHandler>());
        Listen(kestrel, mcp.Value.Bind, mcp.Value.Port, ListenerNames.Mcp, listener => UseMcp(listener, McpFraming.Plain));
        if (mcp.Value.CrcPort is { } crcPort)
        {
            Listen(kestrel, mcp.Value.Bind, crcPort, ListenerNames.McpCrc, listener => UseMcp(listener, McpFraming.Crc));
        }

        if (admin.Value.Enabled)
        {
            // HTTP/1.1 through the application's request pipeline (AdminApi).
            Listen(kestrel, admin.Value.Bind, admin.Value.Port, ListenerNames.Admin, listener => listener.Protocols = HttpProtocols.Http1);
        }
    }

    private static void UseMcp(ListenOptions listener, McpFraming framing)
    {
        var handler = listener.ApplicationServices.GetRequiredService<McpConnectionHandler>();
        listener.Run(connection => handler.OnConnectedAsync(connection, framing));
    }

    private void Listen(KestrelServerOptions kestrel, string bind, int port, string name, Action<ListenOptions> configure)
    {
        if (!McpdOptionsValidator.TryParseBind(bind, out var address))
        {
            // The validator reports it with its key path at start; nothing to bind meanwhile.
            return;
        }

        void Configure(ListenOptions listener)
        {
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
