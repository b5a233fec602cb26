using System.Buffers;
using System.Net.Sockets;
using Mcpd.Client;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>
/// A Modbus RTU bus (Serial Line V1.02) on a serial port or behind an RTU-over-TCP converter, where mcpd is the one
/// master. The bus is half-duplex: one worker sends one request at a time, after the silent interval t3.5, and
/// waits for its answer. Requests wait in a queue served in round-robin over the client connections
/// (<see cref="RtuRequestQueue"/>); units that stop answering are quarantined (<see cref="RtuUnitQuarantine"/>).
/// Reads that got no usable answer are sent again within the same request timeout (<see cref="RtuUpstreamOptions.ReadRetries"/>).
/// Answers: the slave's PDU; 0x0B when it did not answer in time (a response with a bad CRC is no answer), when the
/// line broke during the exchange or mcpd is stopping; 0x0A while the port is closed (nothing was sent); 06 when the
/// queue is full; 03 for a request too short for its function (never sent); nothing (length 0) for a broadcast, and
/// for FC08/04 Force Listen Only Mode when the slave, as it should, does not answer.
/// </summary>
internal sealed partial class ModbusRtuUpstream : IModbusUpstream
{
    /// <summary>How long after a failed exchange the bus counts as degraded.</summary>
    internal static readonly TimeSpan RecentFailureWindow = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly UpstreamOptions _options;
    private readonly RtuUpstreamOptions _rtu;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RtuRequestQueue _queue;
    private readonly RtuUnitQuarantine _quarantine;
    private readonly UpstreamHealth _health;
    private readonly ReconnectPolicy _reopen;
    private readonly string _lineName;
    private readonly TimeSpan _characterTime;
    private readonly TimeSpan _interFrameDelay;
    private readonly byte[] _transmit = new byte[ModbusRtuCodec.MaxAduLength];
    private readonly byte[] _receive = new byte[2 * ModbusRtuCodec.MaxAduLength];
    private readonly byte[] _probeRequest = new byte[5];
    private readonly byte[] _probeResponse = new byte[ModbusLimits.MaxPduLength];
    private readonly CancellationTokenSource _stopping = new();
    private volatile IRtuLine? _line;
    private Task _worker = Task.CompletedTask;
    private long _quietAt;
    private long _lateAnswerUntil;
    private long _lastExchangeAt;
    private long _nextOpenAt;
    private int _reopenAttempts;
    private long _crcErrors;
    private int _disposed;

    public ModbusRtuUpstream(string name, UpstreamOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        Name = name;
        _options = options;
        _rtu = options.Rtu;
        _time = time;
        _logger = loggers.CreateLogger<ModbusRtuUpstream>();
        _queue = new RtuRequestQueue(_rtu.QueueLimit);
        _quarantine = new RtuUnitQuarantine(_rtu.Quarantine, time);
        _health = new UpstreamHealth(time, UpstreamState.Down);
        _reopen = new ReconnectPolicy(_rtu.ReopenDelay, 2, _rtu.MaxReopenDelay, int.MaxValue);
        _lineName = options.Address is { } address ? $"converter {address}" : $"{_rtu.Port} at {_rtu.BaudRate} baud";
        var bits = ModbusRtuTiming.CharacterBits(_rtu.DataBits, _rtu.Parity != RtuParity.None, _rtu.StopBits);
        _characterTime = TimeSpan.FromMicroseconds(ModbusRtuTiming.CharacterTimeMicroseconds(_rtu.BaudRate, bits));
        _interFrameDelay = TimeSpan.FromMicroseconds(ModbusRtuTiming.InterFrameDelayMicroseconds(_rtu.BaudRate, bits));
        ModbusRequestPdu.Read(_probeRequest, ModbusFunctionCode.ReadHoldingRegisters, (ushort)options.Probe.Address, options.Probe.Count);
    }

    public string Name { get; }

    public string Kind => _options.Kind;

    public string? Address => _options.Address ?? _rtu.Port;

    public UpstreamState State => _health.Reported;

    /// <summary>Responses dropped for a bad CRC since start.</summary>
    internal long CrcErrors => Interlocked.Read(ref _crcErrors);

    public ValueTask<int> ExecuteAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(request.Span))
        {
            return new(caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.IllegalDataValue));
        }

        if (_queue.IsClosed)
        {
            return new(caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond));
        }

        if (_line is null)
        {
            return new(caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.GatewayPathUnavailable));
        }

        if (_quarantine.IsQuarantined(unit))
        {
            return new(caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond));
        }

        var pending = new RtuRequest(unit, request, response, caller);
        if (cancellationToken.CanBeCanceled)
        {
            // Registered before it is queued, so the worker always finds the registration to dispose.
            pending.Cancellation = cancellationToken.Register(
                static (state, token) =>
                {
                    var (queue, request) = ((RtuRequestQueue, RtuRequest))state!;
                    if (queue.TryAbandon(request))
                    {
                        request.Cancel(token);
                    }
                },
                (_queue, pending));
        }

        if (!_queue.TryEnqueue(pending))
        {
            // Full, or closed by DisposeAsync since the check above: mcpd is stopping.
            pending.Cancellation.Dispose();
            return new(caller.AnswerInDevicesPlace(request.Span, response.Span, _queue.IsClosed ? ModbusExceptionCode.GatewayTargetDeviceFailedToRespond : ModbusExceptionCode.ServerDeviceBusy));
        }

        return new(pending.Completion);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _lastExchangeAt = _time.GetTimestamp();
        await TryOpenAsync(cancellationToken);
        _worker = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        // The host may dispose the registry twice (as a singleton and as the hosted service it also is).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Closed first: from here on no request joins the queue, so none is left unanswered below.
        _queue.Close();
        await _stopping.CancelAsync();
        try
        {
            await _worker;
        }
        catch (Exception e)
        {
            // A fault of the worker must not leave the port open or the requests waiting unanswered.
            RtuLog.LineFailed(_logger, Name, e.Message);
        }
        finally
        {
            // mcpd is stopping: the requests still waiting are answered 0x0B (docs/gateway.md).
            var line = _line;
            _line = null;
            AnswerWaiting(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
            if (line is not null)
            {
                await line.DisposeAsync();
            }

            _stopping.Dispose();
            _queue.Dispose();
        }
    }

    /// <summary>A failure of the wire during an exchange: the line is closed and reopened. Anything else is a bug, not the bus.</summary>
    private static bool IsLineFailure(Exception e) => e is IOException or SocketException or UnauthorizedAccessException or TimeoutException;

    /// <summary>Opening also fails on a port name or settings the system rejects (SerialPort throws these).</summary>
    private static bool IsOpenFailure(Exception e) => IsLineFailure(e) || e is InvalidOperationException or ArgumentException;

    /// <summary>
    /// False for a request shorter than its function's fields (<see cref="ModbusFunctionDescriptor.MinRequestLength"/>,
    /// Application Protocol 6.x) or longer than a PDU: a slave could not frame it; it is answered 03 and never sent.
    /// </summary>
    internal static bool IsWellFormed(ReadOnlySpan<byte> request) =>
        request.Length is > 0 and <= ModbusLimits.MaxPduLength
        && request.Length >= ModbusFunctionTable.Get(request[0]).MinRequestLength;

    /// <summary>The bus worker: the only code that touches the line.</summary>
    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_line is null)
                {
                    AnswerWaiting(ModbusExceptionCode.GatewayPathUnavailable);
                    var wait = _time.GetElapsedTime(_time.GetTimestamp(), _nextOpenAt);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _time, stop);
                    }

                    await TryOpenAsync(stop);
                    continue;
                }

                try
                {
                    if (await _queue.WaitAsync(IdleWait(), stop))
                    {
                        if (_queue.TryDequeue(out var request))
                        {
                            await ServeAsync(request, stop);
                        }
                    }
                    else if (ProbeIsDue())
                    {
                        await ProbeAsync(stop);
                    }
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    // Not the line (IsLineFailure): a bug. Its request was answered 0x0B; the bus goes on serving, and
                    // what the broken exchange left on the line is flushed before the next request.
                    ExchangeFaulted(_logger, Name, e);
                }

                UpdateState();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Disposed: the waiting requests are answered by DisposeAsync.
        }
    }

    private async Task TryOpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            _line = _options.Address is { } address
                ? await TcpRtuLine.ConnectAsync(HostPort.Parse(address, 502), ConnectTimeout, cancellationToken)
                : SerialRtuLine.Open(_rtu);
            _reopenAttempts = 0;
            _quietAt = _time.GetTimestamp();
        }
        catch (Exception e) when (IsOpenFailure(e))
        {
            var delay = _reopen.DelayBefore(Math.Min(++_reopenAttempts, 30), Random.Shared);
            _nextOpenAt = _time.GetTimestamp() + ToTimestampTicks(delay);
            RtuLog.OpenFailed(_logger, Name, _lineName, e.Message, delay);
        }

        UpdateState();
    }

    private async Task ServeAsync(RtuRequest request, CancellationToken stop)
    {
        if (_quarantine.IsQuarantined(request.Unit))
        {
            request.AnswerInDevicesPlace(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
            return;
        }

        (RtuOutcome Outcome, int Length) result;
        try
        {
            var retries = ModbusFunctionTable.Get(request.Pdu.Span[0]).IsSideEffectFree(request.Pdu.Span) ? _rtu.ReadRetries : 0;
            result = await ExchangeAsync(request.Unit, request.Pdu, request.Response, retries, stop);
        }
        catch (Exception)
        {
            // Shutting down in the middle of the exchange (or a fault): the caller still gets an answer.
            request.AnswerInDevicesPlace(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
            throw;
        }

        // A line that broke after the request went out is a failed exchange, 0x0B; 0x0A is for a bus known to be
        // down before anything was sent (ExecuteAsync, AnswerWaiting in RunAsync).
        switch (result)
        {
            case (RtuOutcome.Answered, var length):
                request.Complete(length);
                break;
            case (RtuOutcome.NoAnswerDue, _):
                request.Complete(0);
                break;
            default:
                request.AnswerInDevicesPlace(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
                break;
        }
    }

    /// <summary>The health probe: an FC03 read while the bus is idle; any answer, exception PDUs included, is health.</summary>
    private async Task ProbeAsync(CancellationToken stop)
    {
        var unit = (byte)_options.Probe.Unit;
        if (_quarantine.IsQuarantined(unit))
        {
            _lastExchangeAt = _time.GetTimestamp();
            return;
        }

        await ExchangeAsync(unit, _probeRequest, _probeResponse, retries: 0, stop);
    }

    /// <summary>
    /// One request on the line until it is answered, with what the outcome means for the unit's health. A request that
    /// got no usable answer (a timeout, a bad CRC) is sent again up to <paramref name="retries"/> times (reads only,
    /// <see cref="ServeAsync"/>). The attempts share one deadline: together they wait at most
    /// <see cref="UpstreamOptions.RequestTimeout"/> for answers, each what is left divided by the attempts left, plus
    /// their own transmission times (and an answer that has begun arriving gets its time to end, see
    /// <see cref="ReceiveAsync"/>). Between attempts the line is not kept quiet for late answers: the late answer to an
    /// earlier attempt answers the same read as well as the retry's.
    /// </summary>
    private async Task<(RtuOutcome Outcome, int Length)> ExchangeAsync(byte unit, ReadOnlyMemory<byte> pdu, Memory<byte> response, int retries, CancellationToken stop)
    {
        var line = _line!;
        var result = (Outcome: RtuOutcome.Timeout, Length: 0);
        var timedOut = false;
        var answeredBySilence = ModbusFunctionTable.Get(pdu.Span[0]).IsAnsweredBySilence(pdu.Span);
        try
        {
            var stray = await DrainLateAnswerAsync(line, stop);
            var attempts = retries + 1;
            var answerTime = _options.RequestTimeout;
            for (var attempt = 1; attempt <= attempts && answerTime > TimeSpan.Zero; attempt++)
            {
                var share = answerTime / (attempts - attempt + 1);
                var (outcome, length, waited) = await AttemptAsync(line, unit, pdu, response, share, stray, stop);
                stray = 0;
                answerTime -= waited;
                result = (outcome, length);
                if (outcome == RtuOutcome.Timeout && !answeredBySilence)
                {
                    RtuLog.Timeout(_logger, Name, unit, pdu.Span[0], share, attempt, attempts);
                }

                timedOut |= outcome == RtuOutcome.Timeout;

                if (outcome is not (RtuOutcome.Timeout or RtuOutcome.CrcMismatch))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (IsLineFailure(e))
        {
            RtuLog.LineFailed(_logger, Name, e.Message);
            _line = null;
            _nextOpenAt = _time.GetTimestamp();
            await line.DisposeAsync();
            result = (RtuOutcome.LineFailed, 0);
        }

        if (answeredBySilence && result.Outcome == RtuOutcome.Timeout)
        {
            // 6.8.1: a slave in listen-only mode returns no response; the client gets none either (a slave that does
            // not know the sub-function answers 01, passed on as any answer).
            result = (RtuOutcome.NoAnswerDue, 0);
        }

        if (timedOut)
        {
            // The slave may still answer an attempt that timed out, even when a retry was answered: RTU has no
            // transaction id, and a late answer that looks like the answer to the next request (same unit, function and
            // size) would be taken for it. The line is listened to and what comes dropped for one more request timeout
            // before the next request goes out (libmodbus's error recovery does the same).
            _lateAnswerUntil = _time.GetTimestamp() + ToTimestampTicks(_options.RequestTimeout);
        }

        Record(unit, result.Outcome);
        return result;
    }

    /// <summary>
    /// Sends <paramref name="pdu"/> once, after the silent interval (flushing what waits on the line, counted with the
    /// <paramref name="stray"/> bytes already dropped), and waits <paramref name="answerTime"/> plus its transmission
    /// time for the answer; <c>Waited</c> is how long it waited beyond the transmission.
    /// </summary>
    private async Task<(RtuOutcome Outcome, int Length, TimeSpan Waited)> AttemptAsync(IRtuLine line, byte unit, ReadOnlyMemory<byte> pdu, Memory<byte> response, TimeSpan answerTime, int stray, CancellationToken stop)
    {
        await WaitForSilenceAsync(stop);
        stray += line.DiscardInput();
        if (stray > 0)
        {
            RtuLog.Flushed(_logger, Name, stray);
        }

        var length = ModbusRtuCodec.Encode(unit, pdu.Span, _transmit);
        await WriteAsync(line, _transmit.AsMemory(0, length), stop);
        // The write returns once the bytes are queued; the line is busy until they are out.
        var transmission = _characterTime * length;
        var sent = _time.GetTimestamp();
        _quietAt = sent + ToTimestampTicks(transmission);
        if (unit == 0)
        {
            // Broadcast (Serial Line 2.1): no answer; the slaves get the turnaround delay to act on it.
            await Task.Delay(transmission + _rtu.TurnaroundDelay, _time, stop);
            return (RtuOutcome.NoAnswerDue, 0, TimeSpan.Zero);
        }

        var (outcome, answered) = await ReceiveAsync(line, unit, pdu, response, answerTime + transmission, stop);
        return (outcome, answered, _time.GetElapsedTime(sent) - transmission);
    }

    /// <summary>
    /// After a timeout, reads and drops what arrives until <see cref="_lateAnswerUntil"/>; returns the bytes dropped.
    /// </summary>
    private async Task<int> DrainLateAnswerAsync(IRtuLine line, CancellationToken stop)
    {
        var remaining = _time.GetElapsedTime(_time.GetTimestamp(), _lateAnswerUntil);
        if (remaining <= TimeSpan.Zero)
        {
            return 0;
        }

        using var grace = new CancellationTokenSource(remaining, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, grace.Token);
        var dropped = 0;
        try
        {
            while (true)
            {
                var read = await line.ReadAsync(_receive, linked.Token);
                if (read == 0)
                {
                    throw new IOException("the line was closed by the other end");
                }

                dropped += read;
                _quietAt = _time.GetTimestamp();
            }
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            return dropped;
        }
    }

    /// <summary>Sends one frame within the request timeout: a converter that stops reading must not hold the bus for ever.</summary>
    private async Task WriteAsync(IRtuLine line, ReadOnlyMemory<byte> frame, CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        try
        {
            await line.WriteAsync(frame, linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            throw new TimeoutException($"the line took no request within {_options.RequestTimeout}");
        }
    }

    private async Task<(RtuOutcome Outcome, int Length)> ReceiveAsync(IRtuLine line, byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, TimeSpan timeout, CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        var started = _time.GetTimestamp();
        var received = new ReceiveState { InSync = true };
        while (true)
        {
            int read;
            try
            {
                read = await line.ReadAsync(_receive.AsMemory(received.Filled), linked.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                return (received.CrcFailed ? RtuOutcome.CrcMismatch : RtuOutcome.Timeout, 0);
            }

            if (read == 0)
            {
                throw new IOException("the line was closed by the other end");
            }

            if (!received.Started)
            {
                // The answer has begun: it gets at least the time a longest ADU takes on the wire to arrive whole
                // (256 characters: 290 ms at 9600 baud, 2.3 s at 1200), whatever is left of the timeout.
                received.Started = true;
                var whole = _characterTime * ModbusRtuCodec.MaxAduLength + _interFrameDelay;
                if (whole > timeout - _time.GetElapsedTime(started))
                {
                    deadline.CancelAfter(whole);
                }
            }

            received.Filled += read;
            _quietAt = _time.GetTimestamp();
            if (Scan(unit, request.Span, response.Span, ref received) is var length and > 0)
            {
                return (RtuOutcome.Answered, length);
            }
        }
    }

    /// <summary>
    /// Looks for the answer of <paramref name="unit"/> to <paramref name="request"/> in the bytes received; returns
    /// its length once copied into <paramref name="response"/>, or 0. Frames that do not answer the request (late
    /// answers, other units) are dropped whole. A frame with a bad CRC is counted when it starts where a frame was due
    /// (the first byte, or right after a whole frame); then, as bytes that start no known frame, it is dropped one byte
    /// at a time, so that a false start inside noise cannot swallow the real answer behind it. What remains (an
    /// incomplete frame) is moved to the front of the buffer.
    /// </summary>
    private int Scan(byte unit, ReadOnlySpan<byte> request, Span<byte> response, ref ReceiveState received)
    {
        var offset = 0;
        var answer = 0;
        while (offset < received.Filled && answer == 0)
        {
            var buffer = new ReadOnlySequence<byte>(_receive, offset, received.Filled - offset);
            var status = ModbusRtuCodec.DecodeResponse(buffer, request, out var frame, out var consumed);
            if (status == OperationStatus.NeedMoreData)
            {
                break;
            }

            if (status == OperationStatus.Done)
            {
                offset += (int)buffer.Slice(0, consumed).Length;
                received.InSync = true;
                var answered = frame.Pdu.FirstSpan[0];
                // The receive buffer is one array: the PDU is one span.
                if (frame.Unit == unit && ModbusResponsePdu.Answers(request, frame.Pdu.FirstSpan))
                {
                    frame.Pdu.CopyTo(response);
                    answer = (int)frame.Pdu.Length;
                }
                else
                {
                    RtuLog.UnexpectedFrame(_logger, Name, frame.Unit, answered, unit);
                }

                continue;
            }

            if (frame.Error == ModbusRtuError.CrcMismatch && received.InSync)
            {
                received.CrcFailed = true;
                var count = Interlocked.Increment(ref _crcErrors);
                RtuLog.CrcMismatch(_logger, Name, frame.Unit, count);
            }

            offset++;
            received.InSync = false;
        }

        _receive.AsSpan(offset, received.Filled - offset).CopyTo(_receive);
        received.Filled -= offset;
        return answer;
    }

    /// <summary>What the outcome of a request (all its attempts) means for its unit and the bus.</summary>
    private void Record(byte unit, RtuOutcome outcome)
    {
        _lastExchangeAt = _time.GetTimestamp();
        switch (outcome)
        {
            case RtuOutcome.Answered:
                if (_quarantine.RecordAnswer(unit))
                {
                    RtuLog.QuarantineLeft(_logger, Name, unit);
                }

                break;
            case RtuOutcome.Timeout:
                _health.RecordFailure();
                if (_quarantine.RecordTimeout(unit) is { } backoff)
                {
                    RtuLog.QuarantineEntered(_logger, Name, unit, backoff, _quarantine.Failures(unit));
                }

                break;
            case RtuOutcome.CrcMismatch or RtuOutcome.LineFailed:
                // The unit answered (garbled) or the line broke: not the unit's fault, no step towards quarantine.
                _health.RecordFailure();
                break;
        }
    }

    private void UpdateState()
    {
        if (_health.TryReport(static bus => bus.Assess(), this, out var state, out _))
        {
            RtuLog.StateChanged(_logger, state == UpstreamState.Up ? LogLevel.Information : LogLevel.Warning, Name, _lineName, state);
        }
    }

    private UpstreamState Assess() =>
        _line is null ? UpstreamState.Down
        : _quarantine.QuarantinedCount > 0 || _health.FailedWithin(RecentFailureWindow) ? UpstreamState.Degraded
        : UpstreamState.Up;

    /// <summary>Serial Line 2.5.1.1: frames are separated by at least t3.5 of silence.</summary>
    private async Task WaitForSilenceAsync(CancellationToken stop)
    {
        var wait = _interFrameDelay - _time.GetElapsedTime(_quietAt);
        if (wait > TimeSpan.Zero)
        {
            // Timers count whole milliseconds: round up, never wait less than t3.5.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), _time, stop);
        }
    }

    private TimeSpan IdleWait()
    {
        var interval = _options.Probe.Interval;
        if (interval <= TimeSpan.Zero)
        {
            return RecentFailureWindow;
        }

        var wait = interval - _time.GetElapsedTime(_lastExchangeAt);
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    private bool ProbeIsDue() => _options.Probe.Interval > TimeSpan.Zero && _time.GetElapsedTime(_lastExchangeAt) >= _options.Probe.Interval;

    private void AnswerWaiting(ModbusExceptionCode code)
    {
        while (_queue.TryDequeue(out var request))
        {
            request.AnswerInDevicesPlace(code);
        }
    }

    private long ToTimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    [LoggerMessage(EventId = 649, Level = LogLevel.Error, Message = "RTU bus {Bus}: an exchange failed unexpectedly; the bus goes on")]
    private static partial void ExchangeFaulted(ILogger logger, string bus, Exception exception);

    /// <summary>The bytes of one exchange's answer so far: how many, and what was seen in them.</summary>
    private struct ReceiveState
    {
        public int Filled;
        public bool CrcFailed;
        public bool InSync;
        public bool Started;
    }

    private enum RtuOutcome
    {
        Answered,
        NoAnswerDue,
        Timeout,
        CrcMismatch,
        LineFailed,
    }
}
