using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net;
using System.Security.Authentication;
using System.Text;
using Mcpd.Client.Internal;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// One TCP connection of an <see cref="McpClient"/>: calls correlated by id, many in flight, answers in any order;
/// a PING from the server is answered with PONG; a request from the server runs its handler
/// (<see cref="McpClientOptions.MapMethod"/>) concurrently with the read loop, or is answered NOT_FOUND. Heartbeat
/// (docs/protocol.md, "Heartbeat"): when nothing arrived for an interval it sends a PING; 3 unanswered PINGs end the connection as dead.
/// When the connection ends, every waiter fails with an <see cref="IOException"/>, running handlers are cancelled and
/// <see cref="Ended"/> completes. With <see cref="McpFraming.Crc"/> every frame travels inside the 0x5A framing.
/// </summary>
internal sealed class McpClientConnection : IAsyncDisposable
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly McpClientOptions _options;
    private readonly IMcpPeer _owner;
    /// <summary>Never disposed: a writer racing the close must still be able to release it.</summary>
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PendingRequests<McpResponse> _calls;
    private readonly PendingRequests<long> _pings;
    private readonly Task _readLoop;
    private readonly TaskCompletionSource<Exception> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Cancelled when the connection ends: stops the heartbeat and the handlers still running.</summary>
    private readonly CancellationTokenSource _closing = new();

    /// <summary>The framing, chosen once: read and written only through this codec.</summary>
    private readonly McpChannelCodec _channel;
    private long _lastReceived;
    private bool _receivedAny;
    private int _disposed;
    private int _unansweredPings;

    private McpClientConnection(ClientConnection connection, McpClientOptions options, IMcpPeer owner)
    {
        _socket = connection.Socket;
        _options = options;
        _owner = owner;
        _channel = McpChannelCodec.For(options.Framing, options.MaxPayloadLength);
        // The reader disposes the stream when the read loop completes it.
        _input = PipeReader.Create(connection.Stream);
        _output = PipeWriter.Create(connection.Stream);
        RemoteEndPoint = TcpConnector.RemoteEndPointOf(_socket);
        _calls = new PendingRequests<McpResponse>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _pings = new PendingRequests<long>(uint.MaxValue, RemoteEndPoint.ToString()!);
        _lastReceived = options.Time.GetTimestamp();
        _readLoop = ReadLoopAsync();
        _ = HeartbeatAsync();
    }

    /// <summary>Completes with the reason when the connection ends (the server closed, the stream broke, PINGs went unanswered).</summary>
    public Task<Exception> Ended => _ended.Task;

    /// <summary>The server.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>True once any byte came from the server: a peer that never says anything may not speak MCP (or this framing).</summary>
    public bool HasReceived => Volatile.Read(ref _receivedAny);

    /// <summary>Connects to an MCP listener, with a TLS handshake of its own when <see cref="McpClientOptions.Tls"/> is set.</summary>
    /// <exception cref="TimeoutException">No connection (and handshake) within <see cref="McpClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed.</exception>
    public static async Task<McpClientConnection> ConnectAsync(string host, int port, McpClientOptions options, IMcpPeer owner, CancellationToken cancellationToken)
    {
        var connection = await TcpConnector.ConnectAsync(host, port, options.ConnectTimeout, options.Tls, cancellationToken);
        return new McpClientConnection(connection, options, owner);
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

    /// <summary>Ends the connection as dead, with <paramref name="reason"/>: the read loop ends and every waiter fails.</summary>
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
        await _closing.CancelAsync();
        _input.CancelPendingRead();
        TcpConnector.ShutdownQuietly(_socket);

        await _readLoop;
        _socket.Dispose();
        _closing.Dispose();
    }

    private async Task WriteAsync(Action<IBufferWriter<byte>> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            write(_channel.BeginFrame(_output));
            if (!_channel.TryEndFrame(_output))
            {
                throw new ArgumentException("The request is larger than the connection's framing carries (one CRC frame: at most 65535 bytes); nothing was sent.");
            }

            await _output.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or AuthenticationException)
        {
            // A frame cut off half-way (or left in the output by a cancelled flush) would corrupt the stream or go out
            // later with the next one: the connection cannot be trusted any more.
            Abort(ex is AuthenticationException ? ex : new IOException($"A write to {RemoteEndPoint} was cut off; the connection is closed.", ex));
            throw;
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
                if (!buffer.IsEmpty)
                {
                    Volatile.Write(ref _receivedAny, true);
                }

                while (TryReadFrame(ref buffer, out var frame))
                {
                    await HandleAsync(frame);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    failure = new IOException(HasReceived
                        ? $"{RemoteEndPoint} closed the connection."
                        : $"{RemoteEndPoint} closed the connection without sending a byte: it may not speak MCP (a Modbus TCP server closes on MCP frames: use mcpd read or write), or it expects TLS (mcpd --tls, McpClientOptions.Tls).");
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or AuthenticationException)
        {
            failure = ex is IOException or AuthenticationException ? ex : new IOException($"The connection to {RemoteEndPoint} broke: {ex.Message}", ex);
        }

        _calls.FailAll(failure);
        _pings.FailAll(failure);
        _ended.TrySetResult(failure);
        await _closing.CancelAsync();
        await _input.CompleteAsync();
    }

    /// <summary>
    /// Takes the next whole frame off the front of <paramref name="buffer"/>; false when more data is needed (bytes the
    /// CRC framing dropped are taken off too). A broken frame ends the connection: the stream cannot be trusted any more.
    /// </summary>
    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out McpFrame frame)
    {
        var status = _channel.Decode(buffer, out frame, out var consumed, out var error, out _);
        if (status == OperationStatus.InvalidData)
        {
            throw new IOException(ProtocolSniffer.Describe(buffer) is { } other && error == McpFrameError.BadMagic
                ? $"{RemoteEndPoint} does not speak MCP: {other}."
                : $"{RemoteEndPoint} sent a broken frame ({error}); the stream cannot be trusted any more.");
        }

        buffer = buffer.Slice(consumed);
        return status == OperationStatus.Done;
    }

    /// <summary>
    /// docs/protocol.md, "Heartbeat": each interval in which nothing arrived, send a PING; 3 PINGs in a row without any frame in return
    /// mean the peer is dead, even if TCP has not noticed.
    /// </summary>
    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_closing.Token))
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

                await SendPingAsync(0, _closing.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException or AuthenticationException)
        {
            // The connection ended.
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
                await ServeAsync(frame.Payload);
                break;
            case McpFrameType.Error:
                throw new IOException(McpPayload.TryParseError(frame.Payload, out var errorStatus, out var message)
                    ? $"{RemoteEndPoint} closed the connection with ERROR {McpStatusNames.Of(errorStatus)}: {message}"
                    : $"{RemoteEndPoint} closed the connection with a malformed ERROR frame.");
        }
    }

    /// <summary>
    /// A request of the server: a malformed one is answered BAD_REQUEST, an unmapped method NOT_FOUND; a mapped one
    /// runs its handler on the thread pool, so a slow handler never holds up the read loop.
    /// </summary>
    private async Task ServeAsync(ReadOnlySequence<byte> payload)
    {
        var parse = McpPayload.ParseRequest(payload, out var request, out var id, out var problem);
        if (parse == McpParseStatus.Unreadable)
        {
            throw new IOException($"{RemoteEndPoint} sent an unreadable request: {problem}");
        }

        var oneWay = parse == McpParseStatus.Ok && request.IsOneWay;
        var incoming = parse == McpParseStatus.Ok
            ? new McpIncomingRequest(Encoding.UTF8.GetString(request.Method), request.Headers.ToList(), request.Body.ToArray(), oneWay, _owner)
            : null;
        if (incoming is not null && _options.Handlers.TryGetValue(incoming.Method, out var handler))
        {
            _ = RunHandlerAsync(id, incoming, handler);
            return;
        }

        var reply = incoming is null ? McpReply.Error(McpStatus.BadRequest, problem!) : McpReply.Error(McpStatus.NotFound, $"the client serves no method '{incoming.Method}'");
        await WriteReplyAsync(id, oneWay, reply, incoming?.TraceId ?? McpErrorBody.TraceIdOf(null));
    }

    private async Task RunHandlerAsync(uint id, McpIncomingRequest request, McpRequestHandler handler)
    {
        await Task.Yield();
        if (await HandlerInvoker.InvokeAsync(handler, request, _options.Logger, _closing.Token) is not { } reply)
        {
            return;
        }

        try
        {
            await WriteReplyAsync(id, request.IsOneWay, reply, request.TraceId);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or AuthenticationException)
        {
            // The connection ended while the handler ran; the server has failed the call already.
        }
    }

    private Task WriteReplyAsync(uint id, bool oneWay, McpReply reply, string traceId) =>
        WriteAsync(output => reply.WriteTo(output, id, oneWay, traceId, _options.Time), _closing.Token);
}
