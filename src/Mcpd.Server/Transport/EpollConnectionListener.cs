using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Transport;

/// <summary>Accepts connections on one endpoint and hands each to an event loop, round-robin.</summary>
internal sealed partial class EpollConnectionListener(Socket listenSocket, EpollLoop[] loops, EpollTransportOptions options, ILogger logger) : IConnectionListener
{
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>A failing accept is logged at most once per interval, with the count of failures since the last line.</summary>
    private static readonly TimeSpan AcceptFailureLogInterval = TimeSpan.FromSeconds(10);

    private int _next;
    private long _lastFailureLogged = long.MinValue;
    private int _failuresNotLogged;

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
            catch (SocketException ex)
            {
                // Out of descriptors or buffers (EMFILE, ENOBUFS): the connections already open keep being served;
                // retry shortly instead of spinning, or of stopping this listener for good.
                LogAcceptFailure(ex);
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

    private void LogAcceptFailure(SocketException ex)
    {
        _failuresNotLogged++;
        if (_lastFailureLogged != long.MinValue && Stopwatch.GetElapsedTime(_lastFailureLogged) < AcceptFailureLogInterval)
        {
            return;
        }

        _lastFailureLogged = Stopwatch.GetTimestamp();
        LogAcceptFailed(logger, EndPoint, ex.SocketErrorCode, ex.Message, _failuresNotLogged, AcceptRetryDelay);
        _failuresNotLogged = 0;
    }

    [LoggerMessage(EventId = 151, Level = LogLevel.Error, Message = "cannot accept connections on {EndPoint}: {Error} ({Message}), {Failures} time(s) since the last line; retrying every {RetryDelay}. Open connections are still served; if it is EMFILE, raise LimitNOFILE (ulimit -n)")]
    private static partial void LogAcceptFailed(ILogger logger, EndPoint endPoint, SocketError error, string message, int failures, TimeSpan retryDelay);

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
