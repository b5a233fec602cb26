using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Modbus;

/// <summary>Kestrel entry point of the Modbus TCP listener: admits the connection, then serves it.</summary>
internal sealed class ModbusConnectionHandler(
    DeviceRegistry devices,
    ConnectionRegistry connections,
    IOptionsMonitor<ModbusServerOptions> options,
    McpdMetrics metrics,
    McpdTracing tracing,
    TimeProvider time,
    ILogger<ModbusConnectionHandler> logger) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection)
    {
        var settings = options.CurrentValue;
        var tracked = connections.TryAdmit(connection, ListenerNames.Modbus, settings.ConnectionLimits);
        if (tracked is null)
        {
            return Task.CompletedTask;
        }

        ModbusLog.Connected(logger, connection.ConnectionId, connection.RemoteEndPoint);
        // One state machine per connection: RunAsync owns the rest of the connection's life, registry removal included.
        return new ModbusConnection(connection, tracked, connections, devices, settings, metrics, tracing, time, logger).RunAsync();
    }
}
