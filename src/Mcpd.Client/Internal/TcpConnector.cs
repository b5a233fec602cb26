using System.Net;
using System.Net.Sockets;

namespace Mcpd.Client.Internal;

/// <summary>Opens the TCP connection of a client: TCP_NODELAY, a connect timeout that says what it waited for.</summary>
internal static class TcpConnector
{
    /// <exception cref="TimeoutException">No connection within <paramref name="timeout"/>.</exception>
    /// <exception cref="SocketException">Refused, unreachable, unknown host.</exception>
    public static async Task<Socket> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token);
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"Could not connect to {host}:{port} within {timeout}.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The server's address as the user knows it: a dual-mode socket reports an IPv4 server as IPv4-mapped IPv6
    /// (<c>[::ffff:127.0.0.1]</c>), which is said here as the IPv4 address it is.
    /// </summary>
    public static EndPoint RemoteEndPointOf(Socket socket) =>
        socket.RemoteEndPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true } mapped
            ? new IPEndPoint(mapped.Address.MapToIPv4(), mapped.Port)
            : socket.RemoteEndPoint!;

    /// <summary>Shuts both directions down; a socket that is already gone is fine.</summary>
    public static void ShutdownQuietly(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already disconnected or closed.
        }
    }
}
