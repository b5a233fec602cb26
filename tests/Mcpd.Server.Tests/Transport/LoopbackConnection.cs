using System.Net;
using System.Net.Sockets;
using Mcpd.Server.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Tests.Transport;

/// <summary>
/// One accepted connection of a transport (mcpd's epoll transport or Kestrel's socket transport) on 127.0.0.1, with
/// the raw client socket at the other end: the transport's pipes are driven directly, without a host.
/// </summary>
internal sealed class LoopbackConnection : IAsyncDisposable
{
    private readonly IConnectionListenerFactory _factory;
    private readonly IConnectionListener _listener;

    private LoopbackConnection(IConnectionListenerFactory factory, IConnectionListener listener, ConnectionContext server, Socket client)
    {
        _factory = factory;
        _listener = listener;
        Server = server;
        Client = client;
    }

    /// <summary>The server side, as a connection handler sees it.</summary>
    public ConnectionContext Server { get; private set; }

    /// <summary>The peer.</summary>
    public Socket Client { get; private set; }

    /// <summary>Binds <paramref name="transport"/> to a free loopback port and connects one client.</summary>
    public static async Task<LoopbackConnection> OpenAsync(TransportKind transport, ApplicationScheduling scheduling, int maxReadBufferSize = 1024 * 1024)
    {
        IConnectionListenerFactory factory = transport == TransportKind.Epoll
            ? new EpollTransportFactory(
                Options.Create(new EpollTransportOptions { MaxReadBufferSize = maxReadBufferSize, ApplicationScheduling = scheduling }),
                NullLogger<EpollTransportFactory>.Instance)
            : new SocketTransportFactory(Options.Create(new SocketTransportOptions { MaxReadBufferSize = maxReadBufferSize }), NullLoggerFactory.Instance);
        var listener = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var (server, client) = await ConnectAsync(listener);
        return new LoopbackConnection(factory, listener, server, client);
    }

    /// <summary>Replaces <see cref="Server"/> and <see cref="Client"/> with a new connection of the same listener (the old ones stay open).</summary>
    public async Task AcceptAnotherAsync() => (Server, Client) = await ConnectAsync(_listener);

    /// <summary>Receives exactly <paramref name="count"/> bytes, or fewer if the server closes first.</summary>
    public async Task<byte[]> ReceiveAsync(int count)
    {
        var bytes = new byte[count];
        var received = 0;
        while (received < count)
        {
            var n = await Client.ReceiveAsync(bytes.AsMemory(received));
            if (n == 0)
            {
                return bytes[..received];
            }

            received += n;
        }

        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        await _listener.DisposeAsync();
        (_factory as IDisposable)?.Dispose();
    }

    private static async Task<(ConnectionContext Server, Socket Client)> ConnectAsync(IConnectionListener listener)
    {
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync().AsTask();
        await client.ConnectAsync(listener.EndPoint);
        var server = await accepting.WaitAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException("The listener stopped.");
        return (server, client);
    }
}
