using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>Kind <c>rtu</c>: a Modbus RTU bus on a serial port or behind an RTU-over-TCP converter (<see cref="ModbusRtuUpstream"/>).</summary>
internal sealed class ModbusRtuUpstreamFactory(TimeProvider time, ILoggerFactory loggers) : IModbusUpstreamFactory
{
    public string Kind => UpstreamKinds.Rtu;

    public IModbusUpstream Create(string name, UpstreamOptions options) => new ModbusRtuUpstream(name, options, time, loggers);
}
