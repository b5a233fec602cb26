using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Transport;

/// <summary>
/// A Kestrel transport over epoll for TCP endpoints (docs/architecture.md explains why). The event loops are shared
/// by all listeners and started with the first bind. Other endpoint kinds fall back to Kestrel's socket transport.
/// It also opens outbound connections (<see cref="IConnectionFactory"/>, the gateway's upstream connections), served
/// by the same loops: an answer from a device reaches its client without a thread switch.
/// </summary>
internal sealed class EpollTransportFactory(IOptions<EpollTransportOptions> options, ILogger<EpollTransportFactory> logger)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector, IConnectionFactory, IDisposable
{
    private readonly Lock _sync = new();
    private EpollLoop[]? _loops;
    private int _nextLoop;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var ip = (IPEndPoint)endpoint;
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            // SO_REUSEADDR alone: a restarted server binds again while old connections are in TIME_WAIT, but a second
            // server on the same port still fails. (SocketOptionName.ReuseAddress would add SO_REUSEPORT on Linux.)
            socket.SetRawSocketOption(EpollInterop.SolSocket, EpollInterop.SoReuseAddr, BitConverter.GetBytes(1));
            socket.Bind(ip);
            socket.Listen(512);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ValueTask<IConnectionListener>(new EpollConnectionListener(socket, Loops(), options.Value, logger));
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> (TCP_NODELAY; a <see cref="DnsEndPoint"/>'s addresses in turn, as a
    /// <see cref="Socket"/> would) and serves the connection on one of the loops, round-robin. The loop itself watches
    /// the handshake (<see cref="EpollConnect"/>): no runtime socket ever holds the descriptor.
    /// </summary>
    public async ValueTask<ConnectionContext> ConnectAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var loops = Loops();
        var loop = loops[(uint)Interlocked.Increment(ref _nextLoop) % loops.Length];
        SocketException? failure = null;
        foreach (var remote in await AddressesOf(endpoint, cancellationToken))
        {
            EpollSocketHandle handle;
            try
            {
                handle = await EpollConnect.ConnectAsync(remote, loop, cancellationToken);
            }
            catch (SocketException ex)
            {
                failure = ex;
                continue;
            }

            var connection = new EpollConnection(handle, remote, null, loop, options.Value.MaxReadBufferSize, options.Value.ApplicationScheduling);
            try
            {
                connection.Start();
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            return connection;
        }

        throw failure ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>Stops the loops, once: the container disposes this object under each service it is registered as.</summary>
    public void Dispose()
    {
        EpollLoop[]? loops;
        lock (_sync)
        {
            loops = _loops;
            _loops = [];
        }

        foreach (var loop in loops ?? [])
        {
            loop.Dispose();
        }
    }

    private EpollLoop[] Loops()
    {
        lock (_sync)
        {
            return _loops ??= [.. Enumerable.Range(0, options.Value.IoThreads).Select(i => new EpollLoop($"mcpd epoll {i}", logger))];
        }
    }

    private static async ValueTask<IEnumerable<IPEndPoint>> AddressesOf(EndPoint endpoint, CancellationToken cancellationToken) => endpoint switch
    {
        IPEndPoint ip => [ip],
        DnsEndPoint { Host: var host, Port: var port } when IPAddress.TryParse(host, out var literal) => [new IPEndPoint(literal, port)],
        DnsEndPoint { Host: var host, Port: var port } => (await Dns.GetHostAddressesAsync(host, cancellationToken)).Select(address => new IPEndPoint(address, port)),
        _ => throw new ArgumentException($"Cannot connect to {endpoint}: only IP and DNS endpoints are supported.", nameof(endpoint)),
    };
}
