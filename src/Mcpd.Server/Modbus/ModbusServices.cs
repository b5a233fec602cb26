using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Modbus;

/// <summary>
/// What every Modbus TCP connection uses: the devices, metrics, tracing, the request log the dashboard watches, the
/// logger of connections, and the registry and clock (one reference in each connection for all of them).
/// </summary>
internal sealed record ModbusServices(
    DeviceRegistry Devices, McpdMetrics Metrics, McpdTracing Tracing, ModbusRequestLog RequestLog, ILogger<ModbusConnectionHandler> Logger,
    ConnectionRegistry Connections, TimeProvider Time)
    : ProtocolServices(Connections, Time);
