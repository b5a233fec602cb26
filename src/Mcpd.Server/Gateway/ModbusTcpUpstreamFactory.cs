using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>Kind <c>tcp</c>: a Modbus TCP device over a connection pool (<see cref="ModbusTcpUpstream"/>).</summary>
internal sealed class ModbusTcpUpstreamFactory(TimeProvider time, ILoggerFactory loggers) : IModbusUpstreamFactory
{
    public string Kind => UpstreamKinds.Tcp;

    public IModbusUpstream Create(string name, UpstreamOptions options) => new ModbusTcpUpstream(name, options, time, loggers);
}
