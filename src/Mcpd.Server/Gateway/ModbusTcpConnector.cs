using System.IO.Pipelines;
using System.Net;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Gateway;

/// <summary>
/// Connections of a Modbus TCP upstream: one <see cref="ModbusTcpClient"/> each, to <paramref name="address"/>. With
/// <paramref name="transport"/> (the server's epoll transport; never for TLS) the connection is opened and served by
/// the server's event loops, as its clients are; otherwise the client opens its own socket.
/// </summary>
internal sealed class ModbusTcpConnector(HostPort address, ModbusClientOptions options, IConnectionFactory? transport) : IUpstreamConnector<ModbusTcpClient>
{
    public async Task<ModbusTcpClient> ConnectAsync(CancellationToken cancellationToken)
    {
        if (transport is null)
        {
            return await ModbusTcpClient.ConnectAsync(address.Host, address.Port, options, cancellationToken);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ConnectTimeout);
        try
        {
            var connection = await transport.ConnectAsync(new DnsEndPoint(address.Host, address.Port), deadline.Token);
            return ModbusTcpClient.Create(new ServerConnectionTransport(connection), options);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Could not connect to {address} within {options.ConnectTimeout}.");
        }
    }

    public bool IsOpen(ModbusTcpClient connection) => connection.IsOpen;

    /// <summary>A connection of the server's transport as the client's transport.</summary>
    private sealed class ServerConnectionTransport(ConnectionContext connection) : IClientTransport
    {
        public IDuplexPipe Pipe => connection.Transport;

        public EndPoint RemoteEndPoint => connection.RemoteEndPoint!;

        public void Abort() => connection.Abort(new ConnectionAbortedException("The gateway closed the upstream connection."));

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }
}
