using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Transport;

/// <summary>Accepts connections on one endpoint and hands each to an event loop, round-robin.</summary>
internal sealed class EpollConnectionListener(Socket listenSocket, EpollLoop[] loops, EpollTransportOptions options) : IConnectionListener
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

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
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The peer went away between SYN and accept: take the next one.
                continue;
            }
            catch (SocketException)
            {
                // Out of descriptors or buffers (EMFILE, ENOBUFS): the connections already open keep being served;
                // retry shortly instead of spinning, or of stopping this listener for good.
                await Task.Delay(AcceptRetryDelay, cancellationToken);
                continue;
            }

            socket.NoDelay = true;
            var loop = loops[(uint)Interlocked.Increment(ref _next) % (uint)loops.Length];
            var connection = new EpollConnection(socket, loop, options.MaxReadBufferSize, options.ApplicationScheduling);
            try
            {
                connection.Start();
            }
            catch (Exception ex) when (ex is SocketException or System.ComponentModel.Win32Exception)
            {
                // The socket could not be made non-blocking or epoll_ctl refused it; the listener goes on with the next one.
                await connection.DisposeAsync();
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
