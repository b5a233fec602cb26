using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>
/// Kind <c>tcp</c>: a Modbus TCP device over a connection pool (<see cref="ModbusTcpUpstream"/>), whose plain
/// connections are served by the server's own transport when it opens outbound connections (the epoll transport).
/// </summary>
internal sealed class ModbusTcpUpstreamFactory(TimeProvider time, ILoggerFactory loggers, IConnectionFactory? transport = null) : IModbusUpstreamFactory
{
    public string Kind => UpstreamKinds.Tcp;

    public IModbusUpstream Create(string name, UpstreamOptions options) => new ModbusTcpUpstream(name, options, transport, time, loggers);
}
