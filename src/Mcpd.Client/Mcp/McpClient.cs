using System.Net;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// An MCP client (docs/protocol.md): calls correlated by id, many in flight, answers in any order; one-way sends
/// that complete on ACK; PING with round-trip time. When the connection dies (closed, broken, or 3 PINGs unanswered)
/// the requests in flight fail with an <see cref="IOException"/> (they may or may not have run), and the client
/// reconnects with <see cref="McpClientOptions.Reconnect"/>'s backoff; calls made meanwhile wait, up to their
/// timeout, for the new connection. After the last attempt it raises <see cref="ConnectionLost"/> and every later
/// call fails at once. Requests the server sends to the client are answered by the handlers of
/// <see cref="McpClientOptions.MapMethod"/>. Thread-safe.
/// </summary>
public sealed class McpClient : IMcpPeer, IAsyncDisposable
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private readonly string _host;
    private readonly int _port;
    private readonly string _server;
    private readonly McpClientOptions _options;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _sync = new();
    private McpClientConnection? _connection;
    private bool _closed;
    private TaskCompletionSource<McpClientConnection> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private McpClient(string host, int port, McpClientOptions options)
    {
        (_host, _port, _options) = (host, port, options);
        _server = $"{host}:{port}";
    }

    /// <summary>Raised when the connection is lost and reconnecting begins; the argument is why it was lost.</summary>
    public event EventHandler<Exception>? Disconnected;

    /// <summary>Raised once the client gave up reconnecting; the argument is the last error.</summary>
    public event EventHandler<Exception>? ConnectionLost;

    /// <summary>Raised after a lost connection was re-established.</summary>
    public event EventHandler? Reconnected;

    /// <summary>The server of the current connection.</summary>
    public EndPoint RemoteEndPoint => Volatile.Read(ref _connection)!.RemoteEndPoint;

    EndPoint? IMcpPeer.RemoteEndPoint => RemoteEndPoint;

    /// <summary>Connects to an MCP listener; the first connection is not retried.</summary>
    /// <exception cref="TimeoutException">No connection (and handshake) within <see cref="McpClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed (<see cref="McpClientOptions.Tls"/>).</exception>
    public static async Task<McpClient> ConnectAsync(string host, int port, McpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var client = new McpClient(host, port, options ?? new McpClientOptions());
        var connection = await McpClientConnection.ConnectAsync(host, port, client._options, client, cancellationToken);
        client._connection = connection;
        client._ready.SetResult(connection);
        _ = client.WatchAsync(connection);
        return client;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The timeout is <see cref="McpClientOptions.RequestTimeout"/>; an <see cref="IOException"/> also means the client
    /// gave up reconnecting; an <see cref="System.Security.Authentication.AuthenticationException"/> that the server
    /// refused this client's certificate.
    /// </remarks>
    public Task<McpResponse> CallAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        WithConnectionAsync((connection, token) => connection.SendAsync(method, McpRequestFlags.None, body, headers ?? NoHeaders, token), method, cancellationToken);

    /// <inheritdoc />
    public async Task<McpStatus> SendOneWayAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        (await WithConnectionAsync((connection, token) => connection.SendAsync(method, McpRequestFlags.OneWay, body, headers ?? NoHeaders, token), method, cancellationToken)).Status;

    /// <summary>Sends a PING and returns the time until its PONG.</summary>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) =>
        WithConnectionAsync((connection, token) => connection.PingAsync(token), "PING", cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        McpClientConnection connection;
        lock (_sync)
        {
            // Marked under the lock, so a reconnect either installed its connection before (disposed here) or sees the mark.
            _closed = true;
            connection = _connection!;
            _ready.TrySetException(new ObjectDisposedException(nameof(McpClient)));
        }

        await _disposed.CancelAsync();
        await connection.DisposeAsync();
    }

    /// <summary>Waits (within the request timeout) for a live connection, then runs <paramref name="work"/> on it.</summary>
    private async Task<T> WithConnectionAsync<T>(Func<McpClientConnection, CancellationToken, Task<T>> work, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        Task<McpClientConnection> ready;
        lock (_sync)
        {
            ready = _ready.Task;
        }

        try
        {
            var connection = await ready.WaitAsync(timeout.Token);
            return await work(connection, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(!ready.IsCompletedSuccessfully
                ? $"No connection to {_host}:{_port} for {what} within {_options.RequestTimeout}: reconnecting."
                : ready.Result.HasReceived || _options.Framing == McpFraming.Crc
                    ? $"No answer from {_host}:{_port} to {what} within {_options.RequestTimeout}."
                    : $"No answer from {_host}:{_port} to {what} within {_options.RequestTimeout}, and not a byte since connecting: "
                        + "a CRC-framed port (mcp:crcPort) ignores plain MCP frames; add --crc (McpClientOptions.Framing = Crc).");
        }
    }

    /// <summary>Waits for the connection to end; unless the client is disposed, reconnects with backoff.</summary>
    private async Task WatchAsync(McpClientConnection connection)
    {
        var reason = await connection.Ended;
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        lock (_sync)
        {
            _ready = new TaskCompletionSource<McpClientConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        McpClientLog.Disconnected(_options.Logger, _server, reason.Message);
        Disconnected?.Invoke(this, reason);
        await connection.DisposeAsync();
        var random = new Random();
        for (var attempt = 1; attempt <= _options.Reconnect.MaxAttempts; attempt++)
        {
            try
            {
                await Task.Delay(_options.Reconnect.DelayBefore(attempt, random), _options.Time, _disposed.Token);
                var next = await McpClientConnection.ConnectAsync(_host, _port, _options, this, _disposed.Token);
                bool disposed;
                lock (_sync)
                {
                    // DisposeAsync may have run while this connection was being made: then it is nobody's to keep.
                    disposed = _closed;
                    if (!disposed)
                    {
                        _connection = next;
                        _ready.TrySetResult(next);
                    }
                }

                if (disposed)
                {
                    await next.DisposeAsync();
                    return;
                }

                McpClientLog.Reconnected(_options.Logger, _server, attempt);
                Reconnected?.Invoke(this, EventArgs.Empty);
                _ = WatchAsync(next);
                return;
            }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException or IOException or System.Security.Authentication.AuthenticationException)
            {
                // A refused handshake is retried too: the certificates on either side may be replaced meanwhile.
                reason = ex;
            }
        }

        var lost = new IOException($"Gave up reconnecting to {_host}:{_port} after {_options.Reconnect.MaxAttempts} attempts: {reason.Message}", reason);
        lock (_sync)
        {
            _ready.TrySetException(lost);
        }

        McpClientLog.GaveUp(_options.Logger, _server, _options.Reconnect.MaxAttempts, reason.Message);
        ConnectionLost?.Invoke(this, lost);
    }
}
