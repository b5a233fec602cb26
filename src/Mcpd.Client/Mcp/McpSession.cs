using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Internal;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// One TCP connection of an <see cref="McpClient"/>: calls correlated by id, many in flight, answers in any order;
/// a PING from the server is answered with PONG, a request from the server NOT_FOUND (no handlers yet). Heartbeat
/// (seed 2.5): when nothing arrived for an interval it sends a PING; 3 unanswered PINGs end the session as dead.
/// When the session ends, every waiter fails with an <see cref="IOException"/> and <see cref="Ended"/> completes.
/// </summary>
internal sealed class McpSession : IAsyncDisposable
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
    private readonly TaskCompletionSource<Exception> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopHeartbeat = new();
    private long _lastReceived;
    private int _disposed;
    private int _unansweredPings;

    private McpSession(Socket socket, McpClientOptions options)
    {
        _socket = socket;
        _options = options;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(stream);
        _output = PipeWriter.Create(stream);
        RemoteEndPoint = socket.RemoteEndPoint!;
        _calls = new PendingRequests<McpResponse>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _pings = new PendingRequests<long>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _lastReceived = options.Time.GetTimestamp();
        _readLoop = ReadLoopAsync();
        _ = HeartbeatAsync();
    }

    /// <summary>Completes with the reason when the session ends (the server closed, the stream broke, PINGs went unanswered).</summary>
    public Task<Exception> Ended => _ended.Task;

    /// <summary>The server.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>Connects to an MCP listener.</summary>
    /// <exception cref="TimeoutException">No connection within <see cref="McpClientOptions.ConnectTimeout"/>.</exception>
    public static async Task<McpSession> ConnectAsync(string host, int port, McpClientOptions options, CancellationToken cancellationToken)
    {
        var socket = await TcpConnector.ConnectAsync(host, port, options.ConnectTimeout, cancellationToken);
        return new McpSession(socket, options);
    }

    /// <summary>Sends a request (one-way or not) and waits for its RESP or ACK; <paramref name="cancellationToken"/> bounds the wait.</summary>
    public async Task<McpResponse> SendAsync(string method, McpRequestFlags flags, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        var (id, completion) = _calls.Register();
        try
        {
            await WriteAsync(output => McpPayload.WriteRequest(output, id, flags, method, headers, body.Span), cancellationToken);
            return await completion.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _calls.Remove(id);
        }
    }

    /// <summary>Sends a PING and waits for its PONG; returns the round-trip time.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        var (id, completion) = _pings.Register();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await SendPingAsync(id, cancellationToken);
            await completion.Task.WaitAsync(cancellationToken);
            return Stopwatch.GetElapsedTime(started);
        }
        finally
        {
            _pings.Remove(id);
        }
    }

    /// <summary>Ends the session as dead, with <paramref name="reason"/>: the read loop ends and every waiter fails.</summary>
    public void Abort(Exception reason)
    {
        _calls.FailAll(reason);
        _pings.FailAll(reason);
        _ended.TrySetResult(reason);
        TcpConnector.ShutdownQuietly(_socket);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        var closed = new ObjectDisposedException(nameof(McpClient), $"The connection to {RemoteEndPoint} was closed by its owner.");
        _calls.FailAll(closed);
        _pings.FailAll(closed);
        _ended.TrySetResult(closed);
        await _stopHeartbeat.CancelAsync();
        _input.CancelPendingRead();
        TcpConnector.ShutdownQuietly(_socket);

        await _readLoop;
        _socket.Dispose();
        _stopHeartbeat.Dispose();
        _writeLock.Dispose();
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
                Volatile.Write(ref _lastReceived, _options.Time.GetTimestamp());
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
        _ended.TrySetResult(failure);
        await _stopHeartbeat.CancelAsync();
        await _input.CompleteAsync();
    }

    /// <summary>
    /// Seed 2.5: each interval in which nothing arrived, send a PING; 3 PINGs in a row without any frame in return
    /// mean the peer is dead, even if TCP has not noticed.
    /// </summary>
    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopHeartbeat.Token))
            {
                if (_options.Time.GetElapsedTime(Volatile.Read(ref _lastReceived)) < _options.HeartbeatInterval)
                {
                    _unansweredPings = 0;
                    continue;
                }

                if (++_unansweredPings > McpClientOptions.MaxUnansweredPings)
                {
                    Abort(new IOException($"{RemoteEndPoint} answered none of {McpClientOptions.MaxUnansweredPings} PINGs sent {_options.HeartbeatInterval} apart; the connection is dead."));
                    return;
                }

                await SendPingAsync(0, _stopHeartbeat.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The session ended.
        }
    }

    private Task SendPingAsync(uint id, CancellationToken cancellationToken)
    {
        var data = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(data, id);
        return WriteAsync(output => McpPayload.WriteHeartbeat(output, McpFrameType.Ping, data), cancellationToken);
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
