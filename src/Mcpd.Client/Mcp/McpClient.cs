using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Internal;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// An MCP client (docs/protocol.md): calls correlated by id, many in flight on one connection, answers in any order;
/// one-way sends that complete on ACK; PING with round-trip time. A PING from the server is answered with PONG; a
/// request from the server is answered NOT_FOUND (this client serves no methods yet). Thread-safe.
/// Heartbeat-driven reconnect with backoff is not in this version: a broken connection fails every waiter with an
/// <see cref="IOException"/> and later calls fail at once.
/// </summary>
public sealed class McpClient : IAsyncDisposable
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly McpClientOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PendingRequests<McpResponse> _calls;
    private readonly PendingRequests<long> _pings;
    private readonly Task _readLoop;

    private McpClient(Socket socket, McpClientOptions options)
    {
        _socket = socket;
        _options = options;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(stream);
        _output = PipeWriter.Create(stream);
        RemoteEndPoint = socket.RemoteEndPoint!;
        _calls = new PendingRequests<McpResponse>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _pings = new PendingRequests<long>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _readLoop = ReadLoopAsync();
    }

    /// <summary>The server.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>Connects to an MCP listener.</summary>
    /// <exception cref="TimeoutException">No connection within <see cref="McpClientOptions.ConnectTimeout"/>.</exception>
    public static async Task<McpClient> ConnectAsync(string host, int port, McpClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new McpClientOptions();
        var socket = await TcpConnector.ConnectAsync(host, port, options.ConnectTimeout, cancellationToken);
        return new McpClient(socket, options);
    }

    /// <summary>Calls <paramref name="method"/> and returns its response, whatever its status.</summary>
    /// <exception cref="TimeoutException">No response within <see cref="McpClientOptions.RequestTimeout"/>.</exception>
    /// <exception cref="IOException">The connection is closed or broke.</exception>
    public Task<McpResponse> CallAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        SendAsync(method, McpRequestFlags.None, body, headers ?? NoHeaders, cancellationToken);

    /// <summary>Sends a one-way message; completes with the ACK's status once the server accepted (or refused) it.</summary>
    public async Task<McpStatus> SendOneWayAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        (await SendAsync(method, McpRequestFlags.OneWay, body, headers ?? NoHeaders, cancellationToken)).Status;

    /// <summary>Sends a PING and returns the time until its PONG.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var (id, completion) = _pings.Register();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await WithTimeoutAsync(async token =>
            {
                var data = new byte[4];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data, id);
                await WriteAsync(output => McpPayload.WriteHeartbeat(output, McpFrameType.Ping, data), token);
                await completion.Task.WaitAsync(token);
            }, $"PING {id}", cancellationToken);
            return Stopwatch.GetElapsedTime(started);
        }
        finally
        {
            _pings.Remove(id);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        var closed = new ObjectDisposedException(nameof(McpClient), $"The connection to {RemoteEndPoint} was closed by its owner.");
        _calls.FailAll(closed);
        _pings.FailAll(closed);
        _input.CancelPendingRead();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }

        await _readLoop;
        _socket.Dispose();
        _writeLock.Dispose();
    }

    private async Task<McpResponse> SendAsync(string method, McpRequestFlags flags, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        var (id, completion) = _calls.Register();
        try
        {
            McpResponse? response = null;
            await WithTimeoutAsync(async token =>
            {
                await WriteAsync(output => McpPayload.WriteRequest(output, id, flags, method, headers, body.Span), token);
                response = await completion.Task.WaitAsync(token);
            }, $"{method} (request {id})", cancellationToken);
            return response!;
        }
        finally
        {
            _calls.Remove(id);
        }
    }

    private async Task WithTimeoutAsync(Func<CancellationToken, Task> work, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            await work(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No answer from {RemoteEndPoint} to {what} within {_options.RequestTimeout}.");
        }
    }

    private async Task WriteAsync(Action<IBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            write(_output);
            await _output.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception failure;
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                while (McpFrameCodec.Decode(buffer, _options.MaxPayloadLength, out var frame, out var consumed, out var error) is var status
                    && status != OperationStatus.NeedMoreData)
                {
                    if (status == OperationStatus.InvalidData)
                    {
                        throw new IOException($"{RemoteEndPoint} sent a broken frame ({error}); the stream cannot be trusted any more.");
                    }

                    await HandleAsync(frame);
                    buffer = buffer.Slice(consumed);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    failure = new IOException($"{RemoteEndPoint} closed the connection.");
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            failure = ex is IOException ? ex : new IOException($"The connection to {RemoteEndPoint} broke: {ex.Message}", ex);
        }

        _calls.FailAll(failure);
        _pings.FailAll(failure);
        await _input.CompleteAsync();
    }

    private async Task HandleAsync(McpFrame frame)
    {
        switch (frame.Type)
        {
            case McpFrameType.Response:
                if (McpPayload.ParseResponse(frame.Payload, out var id, out var status, out var headers, out var body, out var problem) != McpParseStatus.Ok)
                {
                    throw new IOException($"{RemoteEndPoint} sent a malformed response: {problem}");
                }

                _calls.TryComplete(id, new McpResponse(id, status, headers.ToList(), body.ToArray()));
                break;
            case McpFrameType.Ack:
                if (McpPayload.TryParseAck(frame.Payload, out var ackId, out var ackStatus))
                {
                    _calls.TryComplete(ackId, new McpResponse(ackId, ackStatus, NoHeaders, []));
                }

                break;
            case McpFrameType.Pong when frame.Payload.Length == 4:
                Span<byte> pong = stackalloc byte[4];
                frame.Payload.CopyTo(pong);
                _pings.TryComplete(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(pong), Stopwatch.GetTimestamp());
                break;
            case McpFrameType.Ping when frame.Payload.Length <= McpPayload.MaxPingLength:
                var data = frame.Payload.ToArray();
                await WriteAsync(output => McpPayload.WriteHeartbeat(output, McpFrameType.Pong, data), CancellationToken.None);
                break;
            case McpFrameType.Request:
                if (McpPayload.ParseRequest(frame.Payload, out var request, out var requestId, out _) != McpParseStatus.Unreadable)
                {
                    var oneWay = request.IsOneWay;
                    await WriteAsync(output => WriteNotServed(output, requestId, oneWay), CancellationToken.None);
                }

                break;
            case McpFrameType.Error:
                throw new IOException(McpPayload.TryParseError(frame.Payload, out var errorStatus, out var message)
                    ? $"{RemoteEndPoint} closed the connection with ERROR {McpStatusNames.Of(errorStatus)}: {message}"
                    : $"{RemoteEndPoint} closed the connection with a malformed ERROR frame.");
        }
    }

    private static void WriteNotServed(IBufferWriter<byte> output, uint id, bool oneWay)
    {
        if (oneWay)
        {
            McpPayload.WriteAck(output, id, McpStatus.NotFound);
        }
        else
        {
            McpPayload.WriteResponse(output, id, McpStatus.NotFound, NoHeaders, ReadOnlySequence<byte>.Empty);
        }
    }
}
