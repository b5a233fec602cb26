using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Routing;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Serves one MCP connection (docs/protocol.md): frames are validated header first (magic, version, length) and a
/// broken frame is answered with ERROR and a close; a malformed request with a readable id gets RESP BAD_REQUEST and
/// the connection goes on. Built-in methods answer synchronously without allocating; requests that go asynchronous
/// (modbus.pdu on a gateway device) answer out of order, and at <see cref="McpServerOptions.MaxInFlightPerConnection"/>
/// the connection stops reading until one completes. PING is answered at once with PONG. The server calls the client
/// through <see cref="IMcpPeer"/> (the connection's <see cref="TrackedConnection.Peer"/>): REQ out, RESP/ACK matched
/// by id, within <see cref="McpServerOptions.CallTimeout"/>; calls still waiting fail when the connection ends.
/// </summary>
internal sealed class McpConnection(
    ConnectionContext context, TrackedConnection tracked, ConnectionRegistry connections, McpServices services,
    McpServerOptions settings, McpFraming framing, TimeProvider clock, ILogger logger)
    : ProtocolConnection(context, tracked, connections, clock, settings.MaxInFlightPerConnection), IMcpPeer
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    /// <summary>The current pause before reading on, in ticks, while this connection's requests are refused OVERLOADED.</summary>
    private long _overloadPauseTicks;

    /// <summary>The server's calls to the client, waiting for their RESP or ACK.</summary>
    private readonly PendingRequests<McpResponse> _calls = new(uint.MaxValue, context.ConnectionId);

    /// <summary>The listener's framing, chosen once: frames are read and written only through this codec.</summary>
    private readonly McpChannelCodec _channel = McpChannelCodec.For(framing, settings.MaxPayloadLength);

    protected override bool PausesReadingWhenBusy => true;

    private IBufferWriter<byte> FrameOutput => _channel.BeginFrame(Output);

    public EndPoint? RemoteEndPoint => Context.RemoteEndPoint;

    /// <summary>Kestrel's connection id.</summary>
    public string Id => Context.ConnectionId;

    /// <summary>The session this connection is bound to (session.open / session.resume), or null.</summary>
    internal ISessionState? BoundSession { get; private set; }

    /// <summary>Binds the connection to <paramref name="session"/>: its requests see it as their session.</summary>
    internal void Bind(ISessionState session) => BoundSession = session;

    /// <summary>Forgets the binding when it is to <paramref name="sessionId"/> (session.close).</summary>
    internal void Unbind(string sessionId)
    {
        if (BoundSession?.Id == sessionId)
        {
            BoundSession = null;
        }
    }

    public Task<McpResponse> CallAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        SendAsync(method, McpRequestFlags.None, body, headers ?? NoHeaders, cancellationToken);

    public async Task<McpStatus> SendOneWayAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        (await SendAsync(method, McpRequestFlags.OneWay, body, headers ?? NoHeaders, cancellationToken)).Status;

    protected override void OnInputEnded() => _calls.FailAll(new IOException($"connection {Context.ConnectionId} ended"));

    protected override void OnTransportEnded(string reason) => McpLog.TransportEnded(logger, Context.ConnectionId, reason);

    protected override void OnClosed()
    {
        McpLog.Disconnected(logger, Context.ConnectionId, Context.RemoteEndPoint);
        if (BoundSession is { } session)
        {
            // The session lives on for a resume; only its live connection is gone.
            _ = services.Sessions.ReleaseAsync(session.Id, Id);
        }
    }

    protected override bool WriteGoodbye()
    {
        McpPayload.WriteError(FrameOutput, McpStatus.ShuttingDown, "the server is shutting down");
        Commit();
        return true;
    }

    protected override bool ReadsWhileBusy => _calls.Count > 0;

    protected override bool AnswerBatch(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool answered, out bool paused)
    {
        answered = false;
        paused = false;
        while (true)
        {
            var atLimit = !HasFreeSlot;
            if (atLimit && !ReadsWhileBusy)
            {
                // Backpressure within one read too: the next frame waits until a running request completes.
                consumed = buffer.Start;
                paused = true;
                return true;
            }

            var status = _channel.Decode(buffer, out var frame, out var end, out var error, out var dropped);
            if (dropped > 0)
            {
                McpLog.CrcResynchronised(logger, Context.ConnectionId, dropped);
                services.Metrics.CrcResynchronised(dropped);
            }

            if (status == System.Buffers.OperationStatus.NeedMoreData)
            {
                consumed = end;
                return true;
            }

            if (status == System.Buffers.OperationStatus.InvalidData)
            {
                Reject(error, frame.Header);
                answered = true;
                consumed = buffer.Start;
                return false;
            }

            buffer = buffer.Slice(end);
            if (!Handle(frame, atLimit, ref answered))
            {
                consumed = buffer.Start;
                return false;
            }
        }
    }

    /// <summary>
    /// Answers one frame; returns false when the connection must close. <paramref name="atLimit"/>: no in-flight slot
    /// is free (the loop only reads on because the server waits for this client's answers), so a request is refused.
    /// </summary>
    private bool Handle(in McpFrame frame, bool atLimit, ref bool answered)
    {
        switch (frame.Type)
        {
            case McpFrameType.Request:
                answered = true;
                return HandleRequest(frame.Payload, atLimit);
            case McpFrameType.Ping when frame.Payload.Length <= McpPayload.MaxPingLength:
                Span<byte> data = stackalloc byte[McpPayload.MaxPingLength];
                frame.Payload.CopyTo(data);
                McpPayload.WriteHeartbeat(FrameOutput, McpFrameType.Pong, data[..(int)frame.Payload.Length]);
                Commit();
                answered = true;
                return true;
            case McpFrameType.Pong:
                return true;
            case McpFrameType.Response:
            case McpFrameType.Ack:
                answered = true;
                return CompleteCall(frame);
            case McpFrameType.Error:
                if (McpPayload.TryParseError(frame.Payload, out var peerStatus, out var peerMessage))
                {
                    McpLog.PeerError(logger, Context.ConnectionId, peerStatus, peerMessage);
                }

                return false;
            default:
                var problem = frame.Type == McpFrameType.Ping ? "PING carries more than 8 bytes" : $"unknown frame type {(byte)frame.Type}";
                WriteErrorAndLog(McpStatus.BadRequest, problem);
                answered = true;
                return false;
        }
    }

    private bool HandleRequest(in ReadOnlySequence<byte> payload, bool atLimit)
    {
        var started = Stopwatch.GetTimestamp();
        var parse = McpPayload.ParseRequest(payload, out var request, out var id, out var problem);
        if (parse == McpParseStatus.Unreadable)
        {
            WriteErrorAndLog(McpStatus.BadRequest, problem!);
            return false;
        }

        if (parse == McpParseStatus.Malformed)
        {
            McpLog.RequestMalformed(logger, Context.ConnectionId, id, problem!);
            var oneWay = payload.Length > 4 && (payload.Slice(4, 1).FirstSpan[0] & (byte)McpRequestFlags.OneWay) != 0;
            AnswerError(new RequestStart(McpdMetrics.OtherMethod, started, null), id, oneWay, McpStatus.BadRequest, problem!, McpErrorBody.TraceIdOf(null));
            return true;
        }

        if (atLimit)
        {
            // Reading goes on at the limit only for the answers to the server's own calls (a handler holding a slot
            // may wait for one); a request that would need a slot is refused rather than left behind them.
            AnswerError(new RequestStart(McpdMetrics.OtherMethod, started, null), id, request.IsOneWay, McpStatus.Overloaded,
                $"the connection has {settings.MaxInFlightPerConnection} requests in flight", McpErrorBody.TraceIdOf(request.Headers[McpHeaderNames.TraceParent]));
            return true;
        }

        Span<byte> methodBuffer = stackalloc byte[byte.MaxValue];
        var methodBytes = request.Method.IsSingleSegment ? request.Method.FirstSpan : CopyTo(request.Method, methodBuffer);
        Span<char> methodChars = stackalloc char[byte.MaxValue];
        ReadOnlySpan<char> method = methodChars[..Encoding.UTF8.GetChars(methodBytes, methodChars)];
        // A span and the logging scope of its trace id only when a listener samples requests: reading headers allocates.
        var span = services.Tracing.IsListening
            ? McpdTracing.StartMcpRequest(method, request.Headers[McpHeaderNames.TraceParent], request.Headers[McpdTracing.TraceStateHeader])
            : null;
        using var scope = span is null ? null : TraceScope.Begin(logger, span.TraceId.ToHexString());
        var start = new RequestStart(services.Metrics.MethodTag(method, served: BuiltInMethods.IsBuiltIn(method)), started, span);
        if (!Dispatch(request, method, start))
        {
            // The request answers later and owns its span; the read loop goes on outside it.
            McpdTracing.Detach(span);
        }

        return true;
    }

    /// <summary>Runs one parsed request; returns true when it was answered now, false when it answers later (in flight).</summary>
    private bool Dispatch(in McpRequest request, ReadOnlySpan<char> method, RequestStart start)
    {
        var table = services.Router.Table;
        var routed = table.Match(method, request.Headers);
        var namesSession = request.Headers.TryFind(SessionService.SessionHeaderUtf8, out _);
        if (routed is null && !namesSession && TryAnswerInline(request, method, start, out var answeredNow))
        {
            return answeredNow;
        }

        if (routed is null && namesSession && method is SessionService.Get && TryGetSessionValueNow(request, start))
        {
            return true;
        }

        var target = routed ?? services.BuiltIns.TargetOf(method) ?? table.Default;
        if (target is null)
        {
            AnswerError(start, request.Id, request.IsOneWay, McpStatus.NotFound, $"no method '{method}'", TraceIdOf(request, start));
            return true;
        }

        start = start with { MethodTag = services.Metrics.MethodTag(method, served: true) };
        if (target is DeviceTarget device && !namesSession)
        {
            return ExecuteModbus(request, device.Device, null, start);
        }

        if (target is LaneTarget { Lane.IsFull: true } full && !namesSession)
        {
            // A flood into a full lane is refused before anything is copied: its cost must not grow with the flood.
            full.Lane.CountRejected(method, start.Span?.TraceId.ToHexString());
            AnswerError(start, request.Id, request.IsOneWay, McpStatus.Overloaded, full.Lane.FullMessage, TraceIdOf(request, start));
            return true;
        }

        var incoming = ToIncoming(request, method, start);
        // Every line logged while the request runs carries its trace id (the span's scope already does when there is one).
        using var scope = start.Span is null ? TraceScope.Begin(logger, incoming.TraceId) : null;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var targetText = TargetText(target);
            McpLog.Dispatched(logger, Context.ConnectionId, request.Id, incoming.Method, targetText);
        }

        var pending = RunAsync(incoming, target, namesSession && !SessionService.ChecksItsOwnSession(method));
        if (pending.IsCompleted)
        {
            // Synchronous handlers (and refusals) are answered inside the batch, without an in-flight slot.
            var result = pending.Result;
            if (result is { } reply)
            {
                reply.WriteTo(FrameOutput, request.Id, request.IsOneWay, incoming.TraceId, Clock.GetUtcNow());
                Commit();
            }

            Finish(start, result?.Status ?? McpStatus.Internal);
            return true;
        }

        BeginInFlight();
        _ = AnswerLaterAsync(request.Id, incoming, pending, start);
        return false;
    }

    /// <summary>
    /// The built-in methods, answered on the spot without allocating when no rule routes them and no session is named.
    /// </summary>
    private bool TryAnswerInline(in McpRequest request, ReadOnlySpan<char> method, in RequestStart start, out bool answeredNow)
    {
        answeredNow = true;
        switch (method)
        {
            case BuiltInMethods.Echo:
                WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, request.Body);
                return true;
            case BuiltInMethods.Info:
                WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, new ReadOnlySequence<byte>(services.Info.ToJson(Clock.GetUtcNow())));
                return true;
            case BuiltInMethods.ModbusPdu:
                answeredNow = ExecuteModbus(request, ResolveModbusTarget(request, out var headerProblem), headerProblem, start);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// session.get on a store that answers at once (in memory): the session id and key are decoded on the stack and
    /// the value is written straight into the output, so the read allocates nothing (docs/performance.md).
    /// </summary>
    private bool TryGetSessionValueNow(in McpRequest request, in RequestStart start)
    {
        if (!request.Headers.TryFind(SessionService.SessionHeaderUtf8, out var sessionBytes) || sessionBytes.Length > SessionIds.Length
            || !request.Headers.TryFind(SessionService.KeyHeaderUtf8, out var keyBytes) || keyBytes.Length > byte.MaxValue)
        {
            return false;
        }

        Span<char> sessionId = stackalloc char[SessionIds.Length];
        Span<char> key = stackalloc char[byte.MaxValue];
        sessionId = sessionId[..Encoding.UTF8.GetChars(sessionBytes, sessionId)];
        key = key[..Encoding.UTF8.GetChars(keyBytes, key)];
        if (!services.Sessions.Store.TryGetValueNow(sessionId, key, out var read))
        {
            return false;
        }

        if (read.Value is null)
        {
            var reply = SessionService.Refusal(read, key);
            reply.WriteTo(FrameOutput, request.Id, request.IsOneWay, TraceIdOf(request, start), Clock.GetUtcNow());
            Commit();
            Finish(start, reply.Status);
            return true;
        }

        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(read.Value.Length));
        var length = Encoding.UTF8.GetBytes(read.Value, rented);
        WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, new ReadOnlySequence<byte>(rented, 0, length));
        ArrayPool<byte>.Shared.Return(rented);
        return true;
    }

    /// <summary>
    /// The slow path: a request that needs its own copy (handlers, lanes, other nodes, sessions). When it names a
    /// session, the session is checked and extended first (SESSION_EXPIRED, or UNAVAILABLE while the store is down).
    /// </summary>
    private async ValueTask<McpReply?> RunAsync(McpIncomingRequest request, RouteTarget target, bool checkSession)
    {
        if (checkSession)
        {
            var (session, refusal) = await services.Sessions.OpenHandleAsync(request.Header(SessionService.SessionHeader)!, request.TraceId, Context.ConnectionClosed);
            if (session is null)
            {
                return refusal;
            }

            request.Session = session;
        }

        switch (target)
        {
            case HandlerTarget handler:
                return await HandlerInvoker.InvokeAsync(handler.Handler, request, logger, Context.ConnectionClosed);
            case LaneTarget lane:
                {
                    // The lane's span covers the wait in the queue and the run by a worker.
                    using var laneSpan = McpdTracing.StartStep("mcpd.lane", ActivityKind.Internal, "mcpd.lane", lane.Lane.Name);
                    return services.BuiltIns.HandlerOf(request.Method) is { } laneHandler
                        ? await lane.Lane.SubmitAsync(request, laneHandler, Context.ConnectionClosed)
                        : McpReply.Error(McpStatus.NotFound, $"no method '{request.Method}' for lane {lane.Lane.Name}");
                }

            case ForwardTarget forward:
                return await forward.Node.SendAsync(request, Context.ConnectionClosed);
            case DeviceTarget device:
                return await services.BuiltIns.ExecuteModbusAsync(request, device.Device, Context.ConnectionClosed);
            default:
                throw new InvalidOperationException($"Unknown route target {target.GetType().Name}.");
        }
    }

    private async Task AnswerLaterAsync(uint id, McpIncomingRequest request, ValueTask<McpReply?> pending, RequestStart start)
    {
        var status = McpStatus.Internal;
        McpReply? outcome;
        try
        {
            outcome = await pending;
        }
        catch (OperationCanceledException) when (Context.ConnectionClosed.IsCancellationRequested)
        {
            outcome = null;
        }
        catch (Exception ex)
        {
            // Every target answers its own failures; this is the net under a bug, so the request is still answered.
            McpLog.MethodFailed(logger, ex, Context.ConnectionId, request.Method);
            outcome = McpReply.Error(McpStatus.Internal, $"'{request.Method}' failed");
        }

        try
        {
            if (outcome is { } reply)
            {
                status = reply.Status;
                await WriteAsync((Connection: this, id, request, reply), static answer =>
                {
                    answer.reply.WriteTo(answer.Connection.FrameOutput, answer.id, answer.request.IsOneWay, answer.request.TraceId, answer.Connection.Clock.GetUtcNow());
                    answer.Connection.Commit();
                }, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The connection ended while the request ran; nobody is left to answer.
            OnTransportEnded(ex.Message);
        }
        finally
        {
            Finish(start, status);
            EndInFlight();
        }
    }

    /// <summary>The request as a handler sees it: its own copy of method, headers and body, and the connection's session if it is bound to one.</summary>
    private McpIncomingRequest ToIncoming(in McpRequest request, ReadOnlySpan<char> method, in RequestStart start)
    {
        // The span's trace id is the request's: the same as the caller's traceparent when it sent one, else the span's new one.
        return new McpIncomingRequest(new string(method), request.Headers.ToList(), request.Body.ToArray(), request.IsOneWay, this, start.Span?.TraceId.ToHexString())
        {
            Session = BoundSession,
        };
    }

    /// <summary>A target as the configuration names it (docs/routing.md).</summary>
    private static string TargetText(RouteTarget target) => target switch
    {
        LaneTarget lane => $"{RouteTargetText.Lane}:{lane.Lane.Name}",
        ForwardTarget forward => $"{RouteTargetText.Forward}:{forward.Node.Name}",
        DeviceTarget => "a device",
        _ => "its handler",
    };

    /// <summary>The trace id of a request answered inline: its span's, else its traceparent's, else a new one.</summary>
    private static string TraceIdOf(in McpRequest request, in RequestStart start) =>
        McpdTracing.TraceIdOf(start.Span, start.Span is null ? request.Headers[McpHeaderNames.TraceParent] : null);

    /// <summary>
    /// The device of a <c>modbus.pdu</c> request: header <c>unit</c> (parsed without allocating) or <c>device</c> (a
    /// configured name); null with <paramref name="problem"/> set when the headers are wrong, null alone for an unknown unit.
    /// </summary>
    private IModbusDevice? ResolveModbusTarget(in McpRequest request, out string? problem)
    {
        if (request.Headers.TryFind("unit"u8, out var unitBytes) && unitBytes.Length is > 0 and <= 3)
        {
            Span<byte> digits = stackalloc byte[3];
            unitBytes.CopyTo(digits);
            digits = digits[..(int)unitBytes.Length];
            if (!digits.ContainsAnyExceptInRange((byte)'0', (byte)'9') && System.Buffers.Text.Utf8Parser.TryParse(digits, out byte unit, out _))
            {
                problem = null;
                return services.Devices.Resolve(unit);
            }
        }

        return services.BuiltIns.Resolve(request.Headers[BuiltInMethods.DeviceHeader], request.Headers[McpHeaderNames.Unit], out problem);
    }

    /// <summary>
    /// modbus.pdu (or a <c>device:</c> route): the body is a request PDU executed on <paramref name="device"/> exactly
    /// as over Modbus TCP, and the response PDU (exception PDUs included) is the body of an OK response; an unknown
    /// unit answers exception 0x0B, a broadcast an empty body. Returns false when the device answers later.
    /// </summary>
    private bool ExecuteModbus(in McpRequest request, IModbusDevice? device, string? problem, in RequestStart start)
    {
        problem ??= BuiltInMethods.PduProblem(request.Body.Length);
        if (problem is not null)
        {
            AnswerError(start, request.Id, request.IsOneWay, McpStatus.BadRequest, problem, TraceIdOf(request, start));
            return true;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(2 * ScratchHalf);
        var pduLength = (int)request.Body.Length;
        request.Body.CopyTo(scratch);
        var length = device is null
            ? ModbusResponsePdu.WriteException(scratch.AsSpan(ScratchHalf), scratch[0], ModbusExceptionCode.GatewayTargetDeviceFailedToRespond)
            : ExecuteModbus(device, scratch, pduLength, (Connection: this, request.Id, request.IsOneWay, Start: start),
                static (state, ex) => state.Connection.LogModbusFailed(ex),
                static (state, block, answer) => state.Connection.WriteModbusAnswer(state.Start, state.Id, state.IsOneWay, block, answer));
        if (length < 0)
        {
            return false;
        }

        WriteModbusAnswer(start, request.Id, request.IsOneWay, scratch, length);
        ArrayPool<byte>.Shared.Return(scratch);
        return true;
    }

    private async Task<McpResponse> SendAsync(string method, McpRequestFlags flags, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        var (id, completion) = _calls.Register();
        // The read loop may be paused at the in-flight limit: it must read on for this answer.
        WakeReader();
        // The whole call, writing included, is bounded by the call timeout: a client that stops reading cannot hold it.
        using var deadline = new CancellationTokenSource(settings.CallTimeout, Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            await WriteAsync((Connection: this, id, flags, method, headers, body), static call =>
            {
                McpPayload.WriteRequest(call.Connection.FrameOutput, call.id, call.flags, call.method, call.headers, call.body.Span);
                call.Connection.Commit();
            }, linked.Token);
            return await completion.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Client {Context.RemoteEndPoint} ({Context.ConnectionId}) did not answer {method} within {settings.CallTimeout}.");
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or ConnectionResetException or ConnectionAbortedException)
        {
            throw new IOException($"Connection {Context.ConnectionId} to {Context.RemoteEndPoint} is closed.", ex);
        }
        finally
        {
            _calls.Remove(id);
        }
    }

    /// <summary>The client's answer to a call of the server; a malformed one closes the connection.</summary>
    private bool CompleteCall(in McpFrame frame)
    {
        if (frame.Type == McpFrameType.Ack)
        {
            if (!McpPayload.TryParseAck(frame.Payload, out var ackId, out var ackStatus))
            {
                WriteErrorAndLog(McpStatus.BadRequest, "the ACK is not 6 bytes");
                return false;
            }

            _calls.TryComplete(ackId, new McpResponse(ackId, ackStatus, NoHeaders, []));
            return true;
        }

        if (McpPayload.ParseResponse(frame.Payload, out var id, out var status, out var headers, out var body, out var problem) != McpParseStatus.Ok)
        {
            WriteErrorAndLog(McpStatus.BadRequest, $"malformed RESP: {problem}");
            return false;
        }

        _calls.TryComplete(id, new McpResponse(id, status, headers.ToList(), body.ToArray()));
        return true;
    }

    private void LogModbusFailed(Exception exception) => McpLog.MethodFailed(logger, exception, Context.ConnectionId, "modbus.pdu");

    private void WriteModbusAnswer(in RequestStart start, uint id, bool oneWay, byte[] scratch, int length) =>
        WriteAnswer(start, id, oneWay, McpStatus.Ok, new ReadOnlySequence<byte>(scratch, ScratchHalf, length));

    /// <summary>RESP for a request, ACK (status only) for a one-way one; ends the request's measurement and span.</summary>
    private void WriteAnswer(in RequestStart start, uint id, bool oneWay, McpStatus status, in ReadOnlySequence<byte> body)
    {
        if (oneWay)
        {
            McpPayload.WriteAck(FrameOutput, id, status);
        }
        else
        {
            McpPayload.WriteResponse(FrameOutput, id, status, NoHeaders, body);
        }

        Commit();
        Finish(start, status);
    }

    private void AnswerError(in RequestStart start, uint id, bool oneWay, McpStatus status, string message, string traceId) =>
        WriteAnswer(start, id, oneWay, status, new ReadOnlySequence<byte>(McpErrorBody.Create(status, message, traceId, Clock.GetUtcNow())));

    /// <summary>A request was answered <paramref name="status"/>: count it, record its latency, end its span.</summary>
    private void Finish(in RequestStart start, McpStatus status)
    {
        services.Metrics.McpRequest(start.MethodTag, status, start.Started);
        AdjustOverloadPause(status);
        if (start.Span is { } span)
        {
            span.SetTag("mcp.status", McpStatusNames.Of(status));
            span.Stop();
        }
    }

    /// <summary>
    /// Load shedding with backoff: a connection whose requests are refused OVERLOADED is read again only after a pause,
    /// doubling from 1 ms up to <see cref="RoutingOptions.OverloadBackoff"/> while refusals go on, and gone at its first
    /// request that is not refused. The refusal itself still leaves at once; what the pause stops is a client that
    /// answers every OVERLOADED with the next request at full speed taking the CPU from everyone else.
    /// </summary>
    private void AdjustOverloadPause(McpStatus status)
    {
        if (status != McpStatus.Overloaded)
        {
            if (_overloadPauseTicks != 0)
            {
                Volatile.Write(ref _overloadPauseTicks, 0);
            }

            return;
        }

        var limit = services.Router.OverloadBackoff.Ticks;
        var current = Volatile.Read(ref _overloadPauseTicks);
        Volatile.Write(ref _overloadPauseTicks, Math.Min(limit, current == 0 ? TimeSpan.TicksPerMillisecond : 2 * current));
    }

    protected override TimeSpan ReadPause => TimeSpan.FromTicks(Volatile.Read(ref _overloadPauseTicks));

    private void Reject(McpFrameError error, McpFrameHeader header)
    {
        var (status, problem) = error switch
        {
            McpFrameError.UnsupportedVersion => (McpStatus.UnsupportedVersion, $"version {header.Version} is not supported (only 1)"),
            McpFrameError.FrameTooLarge => (McpStatus.FrameTooLarge, $"a payload of {header.PayloadLength} bytes exceeds the maximum of {settings.MaxPayloadLength}"),
            McpFrameError.BadMagic => (McpStatus.BadRequest, "the frame does not start with the magic 0x4D43"),
            _ => (McpStatus.BadRequest, "the CRC frame does not hold exactly one MCP frame"),
        };
        WriteErrorAndLog(status, problem);
    }

    private void WriteErrorAndLog(McpStatus status, string problem)
    {
        McpLog.FrameRejected(logger, Context.ConnectionId, Context.RemoteEndPoint, problem, status);
        McpPayload.WriteError(FrameOutput, status, problem);
        Commit();
    }

    /// <summary>Ends the frame just written to <see cref="FrameOutput"/> (through the framing layer).</summary>
    private void Commit() => _channel.EndFrame(Output);

    private static ReadOnlySpan<byte> CopyTo(in ReadOnlySequence<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return destination[..(int)source.Length];
    }

    /// <summary>What the answer of a request needs from its start: the method's tag, the timestamp, the span (or null).</summary>
    private readonly record struct RequestStart(string MethodTag, long Started, Activity? Span);
}
