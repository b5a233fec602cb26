using Mcpd.Server.Configuration;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Modbus;

/// <summary>Kestrel entry point of the Modbus TCP listener: admits the connection, then serves it.</summary>
internal sealed class ModbusConnectionHandler(
    DeviceRegistry devices,
    ConnectionRegistry connections,
    IOptionsMonitor<McpdOptions> options,
    TimeProvider time,
    ILogger<ModbusConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var settings = options.CurrentValue.Modbus;
        var tracked = connections.TryAdmit(connection, ListenerNames.Modbus, settings.MaxConnections, settings.ConnectionLimitPolicy, settings.IdleTimeout);
        if (tracked is null)
        {
            return;
        }

        try
        {
            ModbusLog.Connected(logger, connection.ConnectionId, connection.RemoteEndPoint);
            using var served = new ModbusConnection(connection, tracked, devices, settings, time, logger);
            await served.RunAsync();
        }
        finally
        {
            connections.Remove(tracked);
            ModbusLog.Disconnected(logger, connection.ConnectionId, connection.RemoteEndPoint);
        }
    }
}
