using Mcpd.Client;
using Mcpd.Client.Modbus;

namespace Mcpd.Server.Gateway;

/// <summary>Connections of a Modbus TCP upstream: one <see cref="ModbusTcpClient"/> each, to <paramref name="address"/>.</summary>
internal sealed class ModbusTcpConnector(HostPort address, ModbusClientOptions options) : IUpstreamConnector<ModbusTcpClient>
{
    public Task<ModbusTcpClient> ConnectAsync(CancellationToken cancellationToken) =>
        ModbusTcpClient.ConnectAsync(address.Host, address.Port, options, cancellationToken);

    public bool IsOpen(ModbusTcpClient connection) => connection.IsOpen;
}
