using System.Net;
using System.Net.Sockets;

namespace Mcpd.Client.Internal;

/// <summary>A client's connection: its socket, and the stream its protocol is spoken over (the socket's, or TLS over it).</summary>
internal readonly record struct ClientConnection(Socket Socket, Stream Stream);

/// <summary>
/// Opens the connection of a client: TCP_NODELAY, then TLS when asked (<see cref="ClientTlsHandshake"/>), both within
/// one connect timeout that says what it waited for.
/// </summary>
internal static class TcpConnector
{
    /// <exception cref="TimeoutException">No connection, or no completed handshake, within <paramref name="timeout"/>.</exception>
    /// <exception cref="SocketException">Refused, unreachable, unknown host.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed; the message says which side refused and why.</exception>
    public static async Task<ClientConnection> ConnectAsync(string host, int port, TimeSpan timeout, ClientTlsOptions? tls, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, deadline.Token);
            var stream = new NetworkStream(socket, ownsSocket: false);
            return new ClientConnection(socket, tls is null ? stream : await ClientTlsHandshake.AuthenticateAsync(stream, host, port, tls, timeout, deadline.Token));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var connected = socket.Connected;
            socket.Dispose();
            throw new TimeoutException(connected
                ? $"No TLS handshake with {host}:{port} within {timeout}: the server does not answer one (is it a TLS port?)."
                : $"Could not connect to {host}:{port} within {timeout}.");
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
