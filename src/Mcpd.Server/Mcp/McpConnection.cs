using System.Buffers;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Serves one MCP connection (docs/protocol.md) on the shared read loop: frames come through the listener's
/// <see cref="McpChannelCodec"/>, validated header first (magic, version, length); a broken frame is answered with
/// ERROR and a close. Requests go to the <see cref="IMcpRequestDispatcher"/>, answers through the
/// <see cref="McpRequestAnswerer"/>; at <see cref="McpServerOptions.MaxInFlightPerConnection"/> the connection stops
/// reading until one completes. PING is answered at once with PONG. The server calls the client through
/// <see cref="IMcpPeer"/> (<see cref="McpClientCalls"/>); the connection is the <see cref="IMcpConnectionFeature"/>
/// of its requests.
/// </summary>
internal sealed class McpConnection : ProtocolConnection, IMcpPeer, IMcpConnectionFeature
{
    private readonly McpServices _services;
    private readonly McpChannelCodec _channel;
    private readonly McpRequestAnswerer _answerer;

    /// <summary>The server's calls to this client (<see cref="IMcpPeer"/>), made by the first (or at the end of input).</summary>
    private McpClientCalls? _calls;

    /// <summary>The listener's settings when the connection was accepted (shared by its connections).</summary>
    private readonly McpServerOptions _settings;
    private ISessionState? _boundSession;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> since when the frame at the start of the input has waited for its remainder; 0: none waits.</summary>
    private long _stalledSince;

    /// <summary>This connection's share of <see cref="IncompleteFrameBudget"/>: the bytes of its incomplete frame past the threshold.</summary>
    private long _incompleteFrameBytes;

    public McpConnection(
        ConnectionContext context, string listener, McpServices services,
        McpServerOptions settings, McpFraming framing, ClientAuthorization? authorization)
        : base(context, listener, settings.ConnectionLimits.IdleTimeout, services)
    {
        _services = services;
        Authorization = authorization;
        // The listener's framing is chosen here, once: frames are read and written only through this codec.
        _channel = McpChannelCodec.For(framing, settings.MaxPayloadLength, settings.MaxCrcNoiseBytes);
        _settings = settings;
        _answerer = new McpRequestAnswerer(this);
    }

    /// <summary>CRC listener: how long a frame's remainder may take before its start byte is given up (zero: plain listener).</summary>
    private TimeSpan CrcFrameTimeout => Listener == ListenerNames.McpCrc ? _settings.CrcFrameTimeout : TimeSpan.Zero;

    /// <summary>The decisions for a client that presented a TLS client certificate; null: the client proved no identity, and nothing is checked.</summary>
    public ClientAuthorization? Authorization { get; }

    /// <summary>The <see cref="Authorization"/> of the connection <paramref name="request"/> arrived on, if any.</summary>
    public static ClientAuthorization? AuthorizationOf(McpIncomingRequest request) => (request.Peer as McpConnection)?.Authorization;

    public ISessionState? BoundSession => Volatile.Read(ref _boundSession);

    protected override bool PausesReadingWhenBusy => true;

    internal override int MaxInFlight => _settings.MaxInFlightPerConnection;

    protected override bool ReadsWhileBusy => Volatile.Read(ref _calls)?.AnyWaiting == true;

    protected override TimeSpan ReadPause => _answerer.ReadPause;

    /// <summary>What every MCP connection uses (dispatcher, metrics, budgets, logger, registry, clock).</summary>
    internal override McpServices Services => _services;

    /// <summary>The connection's logger: lines about its requests carry its category.</summary>
    internal ILogger Logger => _services.Logger;

    private McpClientCalls Calls =>
        Volatile.Read(ref _calls) ?? Interlocked.CompareExchange(ref _calls, new McpClientCalls(this, _settings.CallTimeout, Clock), null) ?? _calls;

    public void Bind(ISessionState session) => Volatile.Write(ref _boundSession, session);

    public void Unbind(string sessionId)
    {
        if (BoundSession is { } bound && bound.Id == sessionId)
        {
            // A session bound meanwhile (a resume racing the close) stays.
            Interlocked.CompareExchange(ref _boundSession, null, bound);
        }
    }

    public Task<McpResponse> CallAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        Calls.SendAsync(method, McpRequestFlags.None, body, headers, cancellationToken);

    public async Task<McpStatus> SendOneWayAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default) =>
        (await Calls.SendAsync(method, McpRequestFlags.OneWay, body, headers, cancellationToken)).Status;

    /// <summary>Where the next outgoing frame is written (under the write lock); <see cref="TryEndFrame"/> sends it through the framing.</summary>
    internal IBufferWriter<byte> BeginFrame() => _channel.BeginFrame(Output);

    /// <summary>Ends the frame written to <see cref="BeginFrame"/>; false when the framing cannot carry it (nothing was written).</summary>
    internal bool TryEndFrame() => _channel.TryEndFrame(Output);

    protected override void OnInputEnded() => Calls.FailAll();

    protected internal override void OnTransportEnded(string reason) => McpLog.TransportEnded(Logger, Id, reason);

    protected override void OnClosed()
    {
        _services.IncompleteFrames.Release(ref _incompleteFrameBytes);
        McpLog.Disconnected(Logger, Id, RemoteEndPoint);
        if (BoundSession is { } session)
        {
            _services.Dispatcher.ReleaseSession(session, Id);
        }
    }

    protected override bool WriteGoodbye()
    {
        McpPayload.WriteError(BeginFrame(), McpStatus.ShuttingDown, "the server is shutting down");
        TryEndFrame();
        return true;
    }

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
                Resynchronised(dropped);
            }

            if (status == OperationStatus.NeedMoreData)
            {
                consumed = end;
                if (HasStalled(buffer.Slice(end), dropped > 0))
                {
                    // The frame's length was damaged upwards, or it is noise: give up its start byte and look again.
                    Resynchronised(1);
                    buffer = buffer.Slice(end).Slice(1);
                    continue;
                }

                var incomplete = buffer.Slice(end).Length;
                if (!_services.IncompleteFrames.TryResize(ref _incompleteFrameBytes, incomplete))
                {
                    _answerer.WriteConnectionError(McpStatus.Overloaded, $"the server holds too many incomplete frames (mcp.maxIncompleteFrameBytes is {_services.IncompleteFrames.Limit}); this one had {incomplete} bytes");
                    answered = true;
                    return false;
                }

                return true;
            }

            if (_incompleteFrameBytes > 0)
            {
                _services.IncompleteFrames.Release(ref _incompleteFrameBytes);
            }

            if (status == OperationStatus.InvalidData)
            {
                Reject(error, frame.Header);
                answered = true;
                consumed = buffer.Start;
                return false;
            }

            _stalledSince = 0;
            buffer = buffer.Slice(end);
            FrameRead();
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
                RequestRead();
                answered = true;
                return _services.Dispatcher.Dispatch(frame.Payload, atLimit, _answerer);
            case McpFrameType.Ping when frame.Payload.Length <= McpPayload.MaxPingLength:
                Span<byte> data = stackalloc byte[McpPayload.MaxPingLength];
                frame.Payload.CopyTo(data);
                McpPayload.WriteHeartbeat(BeginFrame(), McpFrameType.Pong, data[..(int)frame.Payload.Length]);
                TryEndFrame();
                answered = true;
                return true;
            case McpFrameType.Pong:
                return true;
            case McpFrameType.Response:
            case McpFrameType.Ack:
                RequestRead();
                answered = true;
                if (!Calls.TryComplete(frame, out var problem))
                {
                    // The client's answer to a call of the server is malformed: the stream cannot be trusted.
                    _answerer.WriteConnectionError(McpStatus.BadRequest, problem!);
                    return false;
                }

                return true;
            case McpFrameType.Error:
                if (McpPayload.TryParseError(frame.Payload, out var peerStatus, out var peerMessage))
                {
                    McpLog.PeerError(Logger, Id, peerStatus, peerMessage);
                }

                return false;
            default:
                var unknown = frame.Type == McpFrameType.Ping ? "PING carries more than 8 bytes" : $"unknown frame type {(byte)frame.Type}";
                _answerer.WriteConnectionError(McpStatus.BadRequest, unknown);
                answered = true;
                return false;
        }
    }

    private void Resynchronised(long dropped)
    {
        McpLog.CrcResynchronised(Logger, Id, dropped);
        _services.Metrics.CrcResynchronised(dropped);
    }

    /// <summary>
    /// True when the CRC frame at the start of <paramref name="waiting"/> has waited for its remainder longer than
    /// <c>mcp.crcFrameTimeout</c> (a length damaged upwards would otherwise hold every frame behind it until up to
    /// 64 KiB more arrived). <paramref name="newCandidate"/>: bytes were just dropped, so the wait starts now.
    /// </summary>
    private bool HasStalled(in ReadOnlySequence<byte> waiting, bool newCandidate)
    {
        if (CrcFrameTimeout == TimeSpan.Zero || waiting.IsEmpty)
        {
            _stalledSince = 0;
            return false;
        }

        if (newCandidate || _stalledSince == 0)
        {
            // Looked at again then, even if the peer sends nothing more: the frames behind are not left waiting.
            _stalledSince = Clock.GetTimestamp();
            RevisitInputAfter(CrcFrameTimeout);
            return false;
        }

        var waited = Clock.GetElapsedTime(_stalledSince);
        if (waited < CrcFrameTimeout)
        {
            // Timers count milliseconds and may fire a little early: look again when the rest has passed.
            RevisitInputAfter(CrcFrameTimeout - waited + TimeSpan.FromMilliseconds(1));
            return false;
        }

        _stalledSince = 0;
        return true;
    }

    private void Reject(McpFrameError error, McpFrameHeader header)
    {
        var (status, problem) = error switch
        {
            McpFrameError.UnsupportedVersion => (McpStatus.UnsupportedVersion, $"version {header.Version} is not supported (only 1)"),
            McpFrameError.FrameTooLarge => (McpStatus.FrameTooLarge, $"a payload of {header.PayloadLength} bytes exceeds the maximum of {_channel.MaxPayloadLength}"),
            McpFrameError.BadMagic => (McpStatus.BadRequest, "the frame does not start with the magic 0x4D43"),
            McpFrameError.TooMuchNoise => (McpStatus.BadRequest, $"{_channel.Noise} bytes of noise without one good frame (bytes dropped and bytes checksummed in vain; mcp.maxCrcNoiseBytes is {_settings.MaxCrcNoiseBytes})"),
            _ => (McpStatus.BadRequest, "the CRC frame does not hold exactly one MCP frame"),
        };
        _answerer.WriteConnectionError(status, problem);
    }
}
