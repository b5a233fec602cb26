using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Mcpd.Server.Gateway;

/// <summary>
/// A Modbus TCP device reached over a pool of connections (docs/gateway.md): the Polly pipelines around one attempt
/// on the <see cref="UpstreamConnectionPool{TConnection}"/>. The client's transaction id stays with the client
/// connection; upstream each request gets the pooled connection's own id (<see cref="ModbusTcpClient"/>), so requests
/// of many clients share a connection and a late answer can only be dropped. Reads (side-effect-free functions of
/// <see cref="ModbusFunctionTable"/>) are retried, writes never; a circuit breaker answers 0x0B at once while the
/// device keeps failing.
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
    private readonly string _addressText;
    private readonly ILogger _logger;
    private readonly UpstreamConnectionPool<ModbusTcpClient> _pool;
    private readonly UpstreamHealth _health;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ResiliencePipeline<int> _readPipeline;
    private readonly ResiliencePipeline<int> _writePipeline;
    private readonly TimeProvider _time;
    private readonly CancellationToken _closing;
    private Task _probe = Task.CompletedTask;

    public ModbusTcpUpstream(string name, UpstreamOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        Name = name;
        _options = options;
        var tcp = options.Tcp;
        var address = HostPort.Parse(options.Address!, 502);
        _addressText = address.ToString();
        _logger = loggers.CreateLogger<ModbusTcpUpstream>();
        _time = time;
        _health = new UpstreamHealth(time, UpstreamState.Up);
        var connector = new ModbusTcpConnector(address, new ModbusClientOptions
        {
            RequestTimeout = options.RequestTimeout,
            ConnectTimeout = tcp.AcquireTimeout,
            Tls = options.Tls.IsEnabled ? ClientTls(name, options.Tls) : null,
        });
        _pool = new UpstreamConnectionPool<ModbusTcpClient>(name, _addressText, tcp, connector, time, _logger, Report);
        _closing = _pool.Closing;

        var breaker = new ResiliencePipelineBuilder<int> { TimeProvider = time }.AddCircuitBreaker(new CircuitBreakerStrategyOptions<int>
        {
            FailureRatio = tcp.Breaker.FailureRatio,
            MinimumThroughput = tcp.Breaker.MinimumThroughput,
            SamplingDuration = tcp.Breaker.SamplingDuration,
            BreakDuration = tcp.Breaker.BreakDuration,
            StateProvider = _circuit,
            ShouldHandle = args => ValueTask.FromResult(IsBreakerFailure(args.Outcome.Result)),
            OnOpened = args => ReportAsync($"the circuit opened for {args.BreakDuration} after repeated failures"),
            OnHalfOpened = _ => ReportAsync("the circuit is half-open: the next request is a trial"),
            OnClosed = _ => ReportAsync("the circuit closed: the device answered"),
        }).Build();
        _writePipeline = breaker;
        _readPipeline = tcp.ReadRetries == 0 ? breaker : new ResiliencePipelineBuilder<int> { TimeProvider = time }.AddRetry(new RetryStrategyOptions<int>
        {
            MaxRetryAttempts = tcp.ReadRetries,
            Delay = tcp.RetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result == NoAnswer),
        }).AddPipeline(breaker).Build();
    }

    /// <summary>The client side of TLS to the upstream, its files read now; a file that cannot be used is a <see cref="TlsFileException"/> naming its key.</summary>
    private static ClientTlsOptions ClientTls(string name, UpstreamTlsOptions tls)
    {
        try
        {
            var files = ClientTlsOptions.FromFiles(tls.Ca, tls.Certificate, tls.Key);
            return new ClientTlsOptions
            {
                TrustedAuthorities = files.TrustedAuthorities,
                ClientCertificate = files.ClientCertificate,
                ClientCertificateChain = files.ClientCertificateChain,
                TargetHost = tls.ServerName,
            };
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new TlsFileException($"upstreams:{name}:tls: {ex.Message}", ex);
        }
    }

    public string Name { get; }

    public string Kind => _options.Kind;

    public string? Address => _options.Address;

    public UpstreamState State => _pool.IsDown ? UpstreamState.Down
        : _circuit.CircuitState switch
        {
            CircuitState.Open or CircuitState.Isolated => UpstreamState.CircuitOpen,
            CircuitState.HalfOpen => UpstreamState.Degraded,
            _ => _health.LastFailed ? UpstreamState.Degraded : UpstreamState.Up,
        };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pool.Start();
        if (_options.Probe.Interval > TimeSpan.Zero)
        {
            _probe = ProbeAsync();
        }

        return Task.CompletedTask;
    }

    public ValueTask<int> ExecuteAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        unit == 0 ? BroadcastAsync(request, response, cancellationToken) : ExchangeAsync(unit, request, response, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // Waiting requests see the pool closing and are answered 0x0B; requests on a connection fail when it closes.
        await _pool.DisposeAsync();
        await _probe;
    }

    /// <summary>
    /// What the breaker counts as a failure: no answer. A request abandoned by its client or refused for want of a slot
    /// proves nothing about the device; Polly knows only failure and success, so it counts as a success, except as
    /// the half-open trial, where it must not close the circuit: the circuit opens again and the next trial decides.
    /// </summary>
    private bool IsBreakerFailure(int result) =>
        result == NoAnswer || (result is NoPath or Abandoned && _circuit.CircuitState == CircuitState.HalfOpen);

    private async ValueTask<int> ExchangeAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken)
    {
        // A write whose answer was lost may have happened: only side-effect-free functions are sent twice.
        var pipeline = ModbusFunctionTable.Get(request.Span[0]).IsSideEffectFree(request.Span) ? _readPipeline : _writePipeline;
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

    /// <summary>One try at the device: a slot on a connection, the request, its answer.</summary>
    private async ValueTask<Outcome<int>> AttemptAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        var lease = await _pool.RentAsync(cancellationToken);
        if (lease is not { Client: { } client, Connection: { } connection })
        {
            return Outcome.FromResult(lease.Outcome switch
            {
                PoolLeaseOutcome.Abandoned => Abandoned,
                // The extra connection opened for this request failed while others work but are full (a device may
                // take only one): the gateway's own limit, nothing counted against the device.
                PoolLeaseOutcome.NoSlot or PoolLeaseOutcome.OthersBusy => NoPath,
                // Down: fail fast while the pool reconnects (docs/gateway.md, "Health").
                _ => Failed(),
            });
        }

        try
        {
            return Outcome.FromResult(await SendAsync(connection, client, attempt, cancellationToken));
        }
        finally
        {
            _pool.Return(lease);
        }
    }

    private async ValueTask<int> SendAsync(PooledConnection<ModbusTcpClient> connection, ModbusTcpClient client, Attempt attempt, CancellationToken cancellationToken)
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
        catch (Exception) when (_closing.IsCancellationRequested)
        {
            return Abandoned;
        }
        catch (TimeoutException ex)
        {
            // The connection stays: its late answer is dropped by the client, and an id still waiting is never reused.
            TcpUpstreamLog.NoAnswer(_logger, Name, attempt.Unit, attempt.Request.Span[0], ex.Message);
            if (Interlocked.Increment(ref connection.Timeouts) == StalledAfterTimeouts)
            {
                _pool.Discard(connection, $"{StalledAfterTimeouts} requests in a row got no answer within {_options.RequestTimeout}", broken: true);
            }

            return Failed();
        }
        catch (ModbusProtocolException ex)
        {
            _pool.Discard(connection, ex.Message, broken: true);
            return Failed();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // ObjectDisposedException: the connection was closed (by another request's failure) while this one started.
            _pool.Discard(connection, ex.Message, broken: true);
            return Failed();
        }
    }

    /// <summary>Unit 0 is a broadcast (Application Protocol 4.1): sent on any connection, never answered, never retried.</summary>
    private async ValueTask<int> BroadcastAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken)
    {
        var lease = await _pool.RentAsync(cancellationToken);
        if (lease.Outcome == PoolLeaseOutcome.NoSlot)
        {
            return ModbusResponsePdu.WriteException(response.Span, request.Span[0], ModbusExceptionCode.GatewayPathUnavailable);
        }

        if (lease is { Client: { } client, Connection: { } connection })
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
                    _pool.Discard(connection, ex.Message, broken: false);
                }
            }
            finally
            {
                _pool.Return(lease);
            }
        }

        return ModbusResponsePdu.WriteException(response.Span, request.Span[0], ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
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
            var context = ResilienceContextPool.Shared.Get(_closing);
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
        while (await UpstreamTimers.WaitForTickAsync(timer, _closing));
    }

    private int Failed()
    {
        if (_health.RecordFailure())
        {
            Report("a request failed");
        }

        return NoAnswer;
    }

    private void Succeeded()
    {
        if (_health.RecordSuccess())
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
        if (!_health.TryReport(static upstream => upstream.State, this, out var now, out var previous))
        {
            return;
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
}
