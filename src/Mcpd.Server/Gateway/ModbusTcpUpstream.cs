using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Mcpd.Server.Gateway;

/// <summary>
/// A Modbus TCP device reached over a pool of connections (docs/gateway.md). Every request takes a slot: a place on
/// a connection with fewer than <see cref="TcpUpstreamOptions.MaxInFlightPerConnection"/> requests in flight. The
/// client's transaction id stays with the client connection; upstream each request gets the pooled connection's own
/// id (<see cref="ModbusTcpClient"/>), so requests of many clients share a connection and a late answer can only be
/// dropped. Reads are retried, writes never; a circuit breaker answers 0x0B at once while the device keeps failing.
/// </summary>
internal sealed class ModbusTcpUpstream : IModbusUpstream
{
    // Outcomes of one attempt below zero: failures travel through the Polly pipeline as results, not exceptions.
    /// <summary>The device failed (no answer in time, broken connection, refused connect): counted by the breaker, reads retried; answered 0x0B.</summary>
    private const int NoAnswer = -1;

    /// <summary>No slot within the acquire timeout, or the queue is full: the gateway's own limit, not counted; answered 0x0A.</summary>
    private const int NoPath = -2;

    /// <summary>The client connection went away or the upstream is closing: not counted; answered 0x0B.</summary>
    private const int Abandoned = -3;

    /// <summary>
    /// Requests in a row on one connection without an answer after which it is replaced: a device that lost power
    /// sends no FIN, and TCP would keep the dead connection for many minutes.
    /// </summary>
    private const int StalledAfterTimeouts = 3;

    private readonly UpstreamOptions _options;
    private readonly TcpUpstreamOptions _tcp;
    private readonly HostPort _address;
    private readonly string _addressText;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ModbusClientOptions _clientOptions;
    private readonly ReconnectPolicy _reconnect;
    private readonly Lock _sync = new();
    private readonly List<PooledConnection> _connections = [];
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _closing = new();
    private readonly CancellationToken _closingToken;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ResiliencePipeline<int> _readPipeline;
    private readonly ResiliencePipeline<int> _writePipeline;
    private readonly List<Task> _background = [];
    private int _waiting;
    private int _consecutiveFailures;
    private int _nextConnectionId;
    private volatile bool _down;
    private UpstreamState _reported = UpstreamState.Up;

    public ModbusTcpUpstream(string name, UpstreamOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        Name = name;
        _options = options;
        _tcp = options.Tcp;
        _address = HostPort.Parse(options.Address!, 502);
        _addressText = _address.ToString();
        _time = time;
        _logger = loggers.CreateLogger<ModbusTcpUpstream>();
        _closingToken = _closing.Token;
        _clientOptions = new ModbusClientOptions { RequestTimeout = options.RequestTimeout, ConnectTimeout = _tcp.AcquireTimeout };
        _reconnect = new ReconnectPolicy(_tcp.Reconnect.BaseDelay, 2, _tcp.Reconnect.MaxDelay, int.MaxValue);
        _slots = new SemaphoreSlim(_tcp.MaxConnections * _tcp.MaxInFlightPerConnection);

        var breaker = new ResiliencePipelineBuilder<int> { TimeProvider = time }.AddCircuitBreaker(new CircuitBreakerStrategyOptions<int>
        {
            FailureRatio = _tcp.Breaker.FailureRatio,
            MinimumThroughput = _tcp.Breaker.MinimumThroughput,
            SamplingDuration = _tcp.Breaker.SamplingDuration,
            BreakDuration = _tcp.Breaker.BreakDuration,
            StateProvider = _circuit,
            ShouldHandle = args => ValueTask.FromResult(IsBreakerFailure(args.Outcome.Result)),
            OnOpened = args => ReportAsync($"the circuit opened for {args.BreakDuration} after repeated failures"),
            OnHalfOpened = _ => ReportAsync("the circuit is half-open: the next request is a trial"),
            OnClosed = _ => ReportAsync("the circuit closed: the device answered"),
        }).Build();
        _writePipeline = breaker;
        _readPipeline = _tcp.ReadRetries == 0 ? breaker : new ResiliencePipelineBuilder<int> { TimeProvider = time }.AddRetry(new RetryStrategyOptions<int>
        {
            MaxRetryAttempts = _tcp.ReadRetries,
            Delay = _tcp.RetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result == NoAnswer),
        }).AddPipeline(breaker).Build();
    }

    public string Name { get; }

    public UpstreamState State
    {
        get
        {
            if (_down)
            {
                return UpstreamState.Down;
            }

            return _circuit.CircuitState switch
            {
                CircuitState.Open or CircuitState.Isolated => UpstreamState.CircuitOpen,
                CircuitState.HalfOpen => UpstreamState.Degraded,
                _ => Volatile.Read(ref _consecutiveFailures) > 0 ? UpstreamState.Degraded : UpstreamState.Up,
            };
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            _background.Add(MaintainAsync());
            if (_options.Probe.Interval > TimeSpan.Zero)
            {
                _background.Add(ProbeAsync());
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask<int> ExecuteAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        unit == 0 ? BroadcastAsync(request, response, cancellationToken) : ExchangeAsync(unit, request, response, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        // Waiting requests see the token and are answered 0x0B; requests on a connection fail when it closes.
        await _closing.CancelAsync();
        PooledConnection[] connections;
        Task[] background;
        lock (_sync)
        {
            connections = [.. _connections];
            _connections.Clear();
            background = [.. _background];
        }

        foreach (var connection in connections)
        {
            await CloseAsync(connection, "the gateway is stopping");
        }

        await Task.WhenAll(background);
        _closing.Dispose();
    }

    /// <summary>
    /// Application Protocol 6.1-6.4 (FC01-04), 6.7 (FC07), 6.9/6.10 (FC0B/0C), 6.13 (FC11), 6.14 (FC14), 6.18 (FC18)
    /// and 6.21 (FC2B/0E) only read: repeating them cannot change the device. Everything else may write, and a write
    /// whose answer was lost may have happened, so it is never sent twice.
    /// </summary>
    internal static bool IsSideEffectFreeRead(ReadOnlySpan<byte> request) => request[0] switch
    {
        0x01 or 0x02 or 0x03 or 0x04 or 0x07 or 0x0B or 0x0C or 0x11 or 0x14 or 0x18 => true,
        0x2B => request.Length > 1 && request[1] == 0x0E,
        _ => false,
    };

    /// <summary>
    /// What the breaker counts as a failure: no answer. A request abandoned by its client or refused for want of a slot
    /// proves nothing about the device; Polly knows only failure and success, so it counts as a success, except as
    /// the half-open trial, where it must not close the circuit: the circuit opens again and the next trial decides.
    /// </summary>
    private bool IsBreakerFailure(int result) =>
        result == NoAnswer || (result is NoPath or Abandoned && _circuit.CircuitState == CircuitState.HalfOpen);

    private async ValueTask<int> ExchangeAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken)
    {
        var pipeline = IsSideEffectFreeRead(request.Span) ? _readPipeline : _writePipeline;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static (context, attempt) => attempt.Upstream.AttemptAsync(attempt, context.CancellationToken),
                context,
                new Attempt(this, unit, request, response));

            // An exception here is the breaker's BrokenCircuitException: the circuit is open, answer at once.
            var result = outcome.Exception is null ? outcome.Result : NoAnswer;
            return result >= 0
                ? result
                : ModbusResponsePdu.WriteException(response.Span, request.Span[0], result == NoPath ? ModbusExceptionCode.GatewayPathUnavailable : ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One try at the device: a slot, a connection, the request, its answer.</summary>
    private async ValueTask<Outcome<int>> AttemptAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        if (_closingToken.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            return Outcome.FromResult(Abandoned);
        }

        if (_down)
        {
            // Unreachable: fail fast while the reconnect loop backs off (docs/gateway.md, "Health").
            return Outcome.FromResult(Failed());
        }

        var acquired = await AcquireSlotAsync(cancellationToken);
        if (acquired < 0)
        {
            return Outcome.FromResult(acquired);
        }

        var connection = TakeConnection();
        try
        {
            var client = await connection.Client;
            var othersBusy = false;
            if (client is null && !_closingToken.IsCancellationRequested && !cancellationToken.IsCancellationRequested && TakeFallback(connection, out othersBusy) is { } fallback)
            {
                // The extra connection opened for this request failed while others work (a device may take only one):
                // the request goes on one of those, and nothing is counted against the device.
                connection = fallback;
                client = await fallback.Client;
            }

            return Outcome.FromResult(client is not null ? await SendAsync(connection, client, attempt, cancellationToken)
                : _closingToken.IsCancellationRequested || cancellationToken.IsCancellationRequested ? Abandoned
                : othersBusy ? NoPath
                : Failed());
        }
        finally
        {
            ReleaseSlot(connection);
        }
    }

    private async ValueTask<int> SendAsync(PooledConnection connection, ModbusTcpClient client, Attempt attempt, CancellationToken cancellationToken)
    {
        try
        {
            var pdu = await client.SendAsync(attempt.Unit, attempt.Request, cancellationToken);
            pdu.CopyTo(attempt.Response);
            connection.Timeouts = 0;
            Succeeded();
            return pdu.Length;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Abandoned;
        }
        catch (Exception) when (_closingToken.IsCancellationRequested)
        {
            return Abandoned;
        }
        catch (TimeoutException ex)
        {
            // The connection stays: its late answer is dropped by the client, and an id still waiting is never reused.
            TcpUpstreamLog.NoAnswer(_logger, Name, attempt.Unit, attempt.Request.Span[0], ex.Message);
            if (Interlocked.Increment(ref connection.Timeouts) == StalledAfterTimeouts)
            {
                Discard(connection, $"{StalledAfterTimeouts} requests in a row got no answer within {_options.RequestTimeout}", broken: true);
            }

            return Failed();
        }
        catch (ModbusProtocolException ex)
        {
            Discard(connection, ex.Message, broken: true);
            return Failed();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // ObjectDisposedException: the connection was closed (by another request's failure) while this one started.
            Discard(connection, ex.Message, broken: true);
            return Failed();
        }
    }

    /// <summary>Unit 0 is a broadcast (Application Protocol 4.1): sent on any connection, never answered, never retried.</summary>
    private async ValueTask<int> BroadcastAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken)
    {
        var acquired = _down || _closingToken.IsCancellationRequested ? NoAnswer : await AcquireSlotAsync(cancellationToken);
        if (acquired < 0)
        {
            return ModbusResponsePdu.WriteException(response.Span, request.Span[0], acquired == NoPath ? ModbusExceptionCode.GatewayPathUnavailable : ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
        }

        var connection = TakeConnection();
        try
        {
            var client = await connection.Client;
            if (client is null && !_closingToken.IsCancellationRequested && TakeFallback(connection, out _) is { } fallback)
            {
                connection = fallback;
                client = await fallback.Client;
            }

            if (client is not null)
            {
                try
                {
                    await client.SendUnansweredAsync(0, request, cancellationToken);
                    return 0;
                }
                catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException)
                {
                    // The client closes the connection itself when a write broke off half-way; a caller that left
                    // while waiting for the write lock leaves a healthy connection behind.
                    if (!client.IsOpen)
                    {
                        Discard(connection, ex.Message, broken: false);
                    }
                }
            }
        }
        finally
        {
            ReleaseSlot(connection);
        }

        return ModbusResponsePdu.WriteException(response.Span, request.Span[0], ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
    }

    /// <summary>Takes one of the pool's slots; 0, or <see cref="NoPath"/> / <see cref="Abandoned"/>.</summary>
    private async ValueTask<int> AcquireSlotAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return 0;
        }

        if (Interlocked.Increment(ref _waiting) > _tcp.QueueLimit)
        {
            Interlocked.Decrement(ref _waiting);
            return NoPath;
        }

        using var deadline = new CancellationTokenSource(_tcp.AcquireTimeout, _time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closingToken, deadline.Token);
        try
        {
            await _slots.WaitAsync(wait.Token);
            return 0;
        }
        catch (OperationCanceledException)
        {
            return deadline.IsCancellationRequested && !_closingToken.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? NoPath : Abandoned;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// The connection for a request holding a slot: the usable one with the fewest requests in flight, or a new one
    /// when every connection is busy and the pool has room. Invariant: the slots are maxConnections x
    /// maxInFlightPerConnection and retired connections do not count against maxConnections, so a slot holder always
    /// finds a connection with room or room for a new one.
    /// </summary>
    private PooledConnection TakeConnection()
    {
        List<PooledConnection>? dead = null;
        PooledConnection connection;
        lock (_sync)
        {
            PooledConnection? best = null;
            var active = 0;
            for (var i = _connections.Count - 1; i >= 0; i--)
            {
                var candidate = _connections[i];
                if (!candidate.IsUsable)
                {
                    _connections.RemoveAt(i);
                    (dead ??= []).Add(candidate);
                }
                else if (!candidate.Retired)
                {
                    active++;
                    if (candidate.InFlight < _tcp.MaxInFlightPerConnection && (best is null || candidate.InFlight < best.InFlight))
                    {
                        best = candidate;
                    }
                }
            }

            connection = best is not null && (best.InFlight == 0 || active >= _tcp.MaxConnections) ? best : Open();
            connection.InFlight++;
        }

        foreach (var gone in dead ?? [])
        {
            _ = CloseAsync(gone, "the device closed it");
        }

        return connection;
    }

    /// <summary>
    /// A connected connection with room to take over the slot of <paramref name="failed"/>, whose connect failed;
    /// null when there is none, with <paramref name="othersBusy"/> true when connected ones exist but are full (the
    /// gateway's own limit: answered 0x0A, not counted). The slot moves under <see cref="_sync"/>, so the pool's
    /// invariant holds.
    /// </summary>
    private PooledConnection? TakeFallback(PooledConnection failed, out bool othersBusy)
    {
        lock (_sync)
        {
            PooledConnection? best = null;
            othersBusy = false;
            foreach (var candidate in _connections)
            {
                if (!candidate.Client.IsCompletedSuccessfully || !candidate.IsUsable || candidate.Retired)
                {
                    continue;
                }

                othersBusy = true;
                if (candidate.InFlight < _tcp.MaxInFlightPerConnection && (best is null || candidate.InFlight < best.InFlight))
                {
                    best = candidate;
                }
            }

            if (best is not null)
            {
                failed.InFlight--;
                best.InFlight++;
            }

            return best;
        }
    }

    private void ReleaseSlot(PooledConnection connection)
    {
        bool retire;
        lock (_sync)
        {
            connection.InFlight--;
            connection.LastUsed = _time.GetTimestamp();
            retire = connection.Retired && connection.InFlight == 0 && _connections.Remove(connection);
        }

        _slots.Release();
        if (retire)
        {
            _ = CloseAsync(connection, $"older than maxLifetime ({_tcp.MaxLifetime})");
        }
    }

    /// <summary>Starts a new connection in the pool (under <see cref="_sync"/>); its task yields null when it cannot connect.</summary>
    private PooledConnection Open()
    {
        var connection = new PooledConnection(Interlocked.Increment(ref _nextConnectionId), _time.GetTimestamp());
        connection.Client = ConnectAsync(connection);
        _connections.Add(connection);
        return connection;
    }

    private async Task<ModbusTcpClient?> ConnectAsync(PooledConnection connection)
    {
        // Off the caller's lock before any work.
        await Task.Yield();
        try
        {
            var client = await ModbusTcpClient.ConnectAsync(_address.Host, _address.Port, _clientOptions, _closingToken);
            LogConnected(connection);
            return client;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException)
        {
            bool others;
            lock (_sync)
            {
                _connections.Remove(connection);
                others = _connections.Exists(c => c.Client.IsCompletedSuccessfully && c.IsUsable);
            }

            // A device that refuses a further connection while one works is not down (some take only one).
            if (!others && !_closingToken.IsCancellationRequested)
            {
                MarkDown(ex.Message);
            }

            return null;
        }
    }

    private void MarkDown(string reason)
    {
        lock (_sync)
        {
            if (_down || _closingToken.IsCancellationRequested)
            {
                return;
            }

            _down = true;
            _background.Add(ReconnectAsync());
        }

        TcpUpstreamLog.ConnectFailed(_logger, Name, _addressText, reason);
        Report($"cannot connect ({reason}); reconnecting with backoff");
    }

    /// <summary>Reconnects with exponential backoff and jitter for as long as the device stays away (seed 2.5).</summary>
    private async Task ReconnectAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Task.Delay(_reconnect.DelayBefore(Math.Min(attempt, 32), Random.Shared), _time, _closingToken);
                var client = await ModbusTcpClient.ConnectAsync(_address.Host, _address.Port, _clientOptions, _closingToken);
                var connection = new PooledConnection(Interlocked.Increment(ref _nextConnectionId), _time.GetTimestamp()) { Client = Task.FromResult<ModbusTcpClient?>(client) };
                bool closing;
                lock (_sync)
                {
                    // DisposeAsync cancels the token before it empties the pool under this lock: checked here, no
                    // connection can join the pool after it was emptied.
                    closing = _closingToken.IsCancellationRequested;
                    if (!closing)
                    {
                        _connections.Add(connection);
                        _down = false;
                    }
                }

                if (closing)
                {
                    await client.DisposeAsync();
                    return;
                }

                LogConnected(connection);
                Report($"reconnected after {attempt} attempt(s)");
                return;
            }
            catch (OperationCanceledException) when (_closingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException)
            {
                TcpUpstreamLog.ReconnectFailed(_logger, Name, attempt, _addressText, ex.Message);
            }
        }
    }

    /// <summary>Removes a connection that failed and closes it; the requests still on it fail with it.</summary>
    private void Discard(PooledConnection connection, string reason, bool broken)
    {
        bool removed;
        lock (_sync)
        {
            removed = _connections.Remove(connection);
        }

        if (!removed)
        {
            return;
        }

        if (broken)
        {
            TcpUpstreamLog.Broken(_logger, Name, connection.Id, reason);
        }

        _ = CloseAsync(connection, reason);
    }

    private async Task CloseAsync(PooledConnection connection, string reason)
    {
        if (await connection.Client is { } client)
        {
            await client.DisposeAsync();
            TcpUpstreamLog.Closed(_logger, Name, connection.Id, reason);
        }
    }

    /// <summary>
    /// Once a second: retires connections past maxLifetime, closes those idle past idleTimeout (keeping minIdle) and
    /// opens connections up to minIdle.
    /// </summary>
    private async Task MaintainAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        do
        {
            List<(PooledConnection Connection, string Reason)> closing = [];
            lock (_sync)
            {
                var idle = _connections.Count(c => c.InFlight == 0 && c.IsUsable);
                for (var i = _connections.Count - 1; i >= 0; i--)
                {
                    var connection = _connections[i];
                    if (connection.InFlight > 0 || !connection.Client.IsCompleted)
                    {
                        connection.Retired |= _tcp.MaxLifetime > TimeSpan.Zero && _time.GetElapsedTime(connection.OpenedAt) >= _tcp.MaxLifetime;
                        continue;
                    }

                    string? reason = !connection.IsUsable ? "the device closed it"
                        : _tcp.MaxLifetime > TimeSpan.Zero && _time.GetElapsedTime(connection.OpenedAt) >= _tcp.MaxLifetime ? $"older than maxLifetime ({_tcp.MaxLifetime})"
                        : _tcp.IdleTimeout > TimeSpan.Zero && idle > _tcp.MinIdle && _time.GetElapsedTime(connection.LastUsed) >= _tcp.IdleTimeout ? $"idle for idleTimeout ({_tcp.IdleTimeout})"
                        : null;
                    if (reason is not null)
                    {
                        idle -= connection.IsUsable ? 1 : 0;
                        _connections.RemoveAt(i);
                        closing.Add((connection, reason));
                    }
                }

                for (var open = _connections.Count(c => !c.Retired); !_down && open < _tcp.MinIdle; open++)
                {
                    Open();
                }
            }

            foreach (var (connection, reason) in closing)
            {
                await CloseAsync(connection, reason);
            }
        }
        while (await WaitForTickAsync(timer));
    }

    /// <summary>Every probe interval, the configured cheap read through the breaker (never retried): any answer proves the device alive.</summary>
    private async Task ProbeAsync()
    {
        var probe = _options.Probe;
        var request = new byte[5];
        ModbusRequestPdu.Read(request, ModbusFunctionCode.ReadHoldingRegisters, (ushort)probe.Address, probe.Count);
        var response = new byte[ModbusLimits.MaxPduLength];
        using var timer = new PeriodicTimer(probe.Interval, _time);
        do
        {
            var context = ResilienceContextPool.Shared.Get(_closingToken);
            try
            {
                await _writePipeline.ExecuteOutcomeAsync(
                    static (context, attempt) => attempt.Upstream.AttemptAsync(attempt, context.CancellationToken),
                    context,
                    new Attempt(this, (byte)probe.Unit, request, response));
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
        while (await WaitForTickAsync(timer));
    }

    private async Task<bool> WaitForTickAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_closingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void LogConnected(PooledConnection connection)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            int pooled;
            lock (_sync)
            {
                pooled = _connections.Count;
            }

            TcpUpstreamLog.Connected(_logger, Name, connection.Id, _addressText, pooled);
        }
    }

    private int Failed()
    {
        if (Interlocked.Increment(ref _consecutiveFailures) == 1)
        {
            Report("a request failed");
        }

        return NoAnswer;
    }

    private void Succeeded()
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0 && Interlocked.Exchange(ref _consecutiveFailures, 0) != 0)
        {
            Report("the device answered");
        }
    }

    private ValueTask ReportAsync(string reason)
    {
        Report(reason);
        return ValueTask.CompletedTask;
    }

    /// <summary>Logs a line when the state differs from the one last reported.</summary>
    private void Report(string reason)
    {
        UpstreamState previous;
        UpstreamState now;
        lock (_sync)
        {
            now = State;
            previous = _reported;
            if (now == previous)
            {
                return;
            }

            _reported = now;
        }

        if (now < previous)
        {
            TcpUpstreamLog.Recovered(_logger, Name, _addressText, now, previous, reason);
        }
        else
        {
            TcpUpstreamLog.Worsened(_logger, Name, _addressText, now, previous, reason);
        }
    }

    /// <summary>The arguments of one attempt, passed through the pipeline without a closure.</summary>
    private readonly record struct Attempt(ModbusTcpUpstream Upstream, byte Unit, ReadOnlyMemory<byte> Request, Memory<byte> Response);

    /// <summary>One connection of the pool; <see cref="InFlight"/>, <see cref="LastUsed"/> and <see cref="Retired"/> change under the pool's lock.</summary>
    private sealed class PooledConnection(int id, long openedAt)
    {
        public int Id { get; } = id;

        public long OpenedAt { get; } = openedAt;

        /// <summary>The connection once connected; null when connecting failed.</summary>
        public Task<ModbusTcpClient?> Client { get; set; } = Task.FromResult<ModbusTcpClient?>(null);

        public int InFlight { get; set; }

        /// <summary>Requests in a row that got no answer (changed with Interlocked).</summary>
        public int Timeouts;

        public long LastUsed { get; set; } = openedAt;

        /// <summary>Past maxLifetime: takes no new request, closes when the last one is answered.</summary>
        public bool Retired { get; set; }

        /// <summary>Connecting, or connected and not closed.</summary>
        public bool IsUsable => !Client.IsCompleted || Client.Result is { IsOpen: true };
    }
}
