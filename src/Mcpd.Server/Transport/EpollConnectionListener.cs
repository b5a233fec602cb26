using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Transport;

/// <summary>Accepts connections on one endpoint and hands each to an event loop, round-robin.</summary>
internal sealed class EpollConnectionListener(Socket listenSocket, EpollLoop[] loops) : IConnectionListener
{
    private int _next;

    public EndPoint EndPoint { get; } = listenSocket.LocalEndPoint!;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listenSocket.AcceptAsync(cancellationToken);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException)
            {
                // The peer went away between SYN and accept (ECONNABORTED and the like): take the next one.
                continue;
            }

            socket.NoDelay = true;
            var loop = loops[(uint)Interlocked.Increment(ref _next) % (uint)loops.Length];
            var connection = new EpollConnection(socket, loop);
            try
            {
                connection.Start();
            }
            catch (SocketException)
            {
                socket.Dispose();
                continue;
            }

            return connection;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }
}
