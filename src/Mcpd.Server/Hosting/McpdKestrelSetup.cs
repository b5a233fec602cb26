using System.Net;
using Mcpd.Server.Configuration;
using Mcpd.Server.Modbus;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Hosting;

/// <summary>Puts mcpd's protocol listeners on Kestrel, each with its connection handler.</summary>
internal sealed class McpdKestrelSetup(IOptions<McpdOptions> options, ListenerEndpoints endpoints) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions kestrel)
    {
        var modbus = options.Value.Modbus;
        if (!McpdOptionsValidator.TryParseBind(modbus.Bind, out var address))
        {
            // The validator reports it with its key path at start; nothing to bind meanwhile.
            return;
        }

        void UseModbus(ListenOptions listener)
        {
            listener.UseConnectionHandler<ModbusConnectionHandler>();
            endpoints.Add(ListenerNames.Modbus, listener);
        }

        if (address is null)
        {
            kestrel.ListenAnyIP(modbus.Port, UseModbus);
        }
        else
        {
            kestrel.Listen(new IPEndPoint(address, modbus.Port), UseModbus);
        }
    }
}
