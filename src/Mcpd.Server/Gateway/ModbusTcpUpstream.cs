using System.Runtime.CompilerServices;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>
/// A Modbus TCP device reached over a pool of connections (docs/gateway.md): one deadline per request
/// (<see cref="UpstreamOptions.RequestTimeout"/>), attempts on the <see cref="UpstreamConnectionPool{TConnection}"/>
/// through the upstream's circuit breaker (<see cref="UpstreamCircuit"/>), and retries of reads that failed fast while the deadline leaves room. The
/// client's transaction id stays with the client connection; upstream each request gets the pooled connection's own
/// id (<see cref="ModbusTcpClient"/>), so requests of many clients share a connection and a late answer can only be
/// dropped. Reads (side-effect-free functions of <see cref="ModbusFunctionTable"/>) are retried, writes never; a Down
/// upstream or an open circuit is answered 0x0B at once. A unit that stays silent while the device answers others
/// is that unit's failure, not the device's.
/// </summary>
internal sealed class ModbusTcpUpstream : IModbusUpstream
{
    // Outcomes of one attempt below zero: failures travel as results, not exceptions.
    /// <summary>The exchange failed at once (broken connection, refused connect): counted by the breaker; a read is retried within its deadline; answered 0x0B.</summary>
    private const int Broke = -1;

    /// <summary>No slot in time, or the queue is full: the gateway's own limit, not counted; answered 0x0A.</summary>
    private const int NoPath = -2;

    /// <summary>The client connection went away or the upstream is closing: not counted; answered 0x0B.</summary>
    private const int Abandoned = -3;

    /// <summary>The device answered nothing before the deadline: counted by the breaker, never retried (no time is left); answered 0x0B.</summary>
    private const int Silent = -4;

    /// <summary>The unit answered nothing before the deadline while the device answered others: the unit's failure, not counted; answered 0x0B.</summary>
    private const int UnitSilent = -5;

    /// <summary>The upstream is Down (no connection can be opened): answered 0x0B at once, never retried.</summary>
    private const int Down = -6;

    /// <summary>
    /// Requests in a row on one connection that got no answer while nothing at all came back on it, after which it
    /// is replaced: a device that lost power sends no FIN, and TCP would keep the dead connection for many minutes.
    /// </summary>
    private const int StalledAfterTimeouts = 3;

    private readonly UpstreamOptions _options;
    private readonly string _addressText;
    private readonly ILogger _logger;
    private readonly UpstreamConnectionPool<ModbusTcpClient> _pool;
    private readonly UpstreamHealth _health;
    private readonly UpstreamCircuit _circuit;
    private readonly SilentUnits _silentUnits = new();
    private readonly TimeProvider _time;
    private readonly long _requestTimeoutTicks;
    private readonly CancellationToken _closing;
    private Task _probe = Task.CompletedTask;

    public ModbusTcpUpstream(string name, UpstreamOptions options, IConnectionFactory? transport, TimeProvider time, ILoggerFactory loggers)
    {
        Name = name;
        _options = options;
        var tcp = options.Tcp;
        var address = HostPort.Parse(options.Address!, 502);
        _addressText = address.ToString();
        _logger = loggers.CreateLogger<ModbusTcpUpstream>();
        _time = time;
        _requestTimeoutTicks = (long)(options.RequestTimeout.TotalSeconds * time.TimestampFrequency);
        _health = new UpstreamHealth(time, UpstreamState.Up);
        var connector = new ModbusTcpConnector(address, new ModbusClientOptions
        {
            RequestTimeout = options.RequestTimeout,
            ConnectTimeout = tcp.AcquireTimeout,
            Tls = options.Tls.IsEnabled ? ClientTls(name, options.Tls) : null,
        }, options.Tls.IsEnabled ? null : transport);
        _pool = new UpstreamConnectionPool<ModbusTcpClient>(name, _addressText, tcp, connector, time, _logger, ReachabilityChanged);
        _closing = _pool.Closing;

        _circuit = new UpstreamCircuit(tcp.Breaker, time, Report);
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
        : _circuit.Position switch
        {
            CircuitPosition.Open => UpstreamState.CircuitOpen,
            CircuitPosition.HalfOpen => UpstreamState.Degraded,
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
        unit == 0 ? BroadcastAsync(request, response, caller, cancellationToken)
        : ExchangeAsync(
            Attempt.Now(this, unit, request, response),
            // A write whose answer was lost may have happened: it is sent once.
            ModbusFunctionTable.Get(request.Span[0]).IsSideEffectFree(request.Span) ? _options.Tcp.ReadRetries : 0,
            caller,
            cancellationToken);

    public async ValueTask DisposeAsync()
    {
        // Waiting requests see the pool closing and are answered 0x0B; requests on a connection fail when it closes.
        await _pool.DisposeAsync();
        await _probe;
    }

    /// <summary>
    /// What an attempt's result proves about the device: an answer, or its failure (no answer, a broken connection, a
    /// refused connect, Down); a silent unit, a request abandoned by its client or refused for want of a slot prove nothing.
    /// </summary>
    private static AttemptVerdict VerdictOf(int result) => result switch
    {
        >= 0 => AttemptVerdict.Answered,
        Broke or Silent or Down => AttemptVerdict.Failed,
        _ => AttemptVerdict.Unproven,
    };

    /// <summary>
    /// One request within one deadline: attempts through the breaker (an open circuit answers at once); a
    /// side-effect-free request that failed fast (a broken connection, say, after the device restarted) is tried again,
    /// up to <paramref name="retries"/> times, after <see cref="TcpUpstreamOptions.RetryDelay"/> (doubling, with
    /// jitter) while the deadline leaves room. An attempt is a slot on a pooled connection, the request, its answer.
    /// One state machine for the whole request, and the clock read again only when the request had to wait: each async
    /// method on the way is an allocation once many requests are in flight (the framework's pooling builder keeps only
    /// a few per thread, hence <see cref="PerThreadPoolingValueTaskMethodBuilder{TResult}"/>), and each clock read a measurable
    /// part of a gateway request (docs/performance.md).
    /// </summary>
    [AsyncMethodBuilder(typeof(PerThreadPoolingValueTaskMethodBuilder<>))]
    private async ValueTask<int> ExchangeAsync(Attempt attempt, int retries, ModbusCaller caller, CancellationToken cancellationToken)
    {
        int result;
        var now = attempt.Started;
        for (var retry = 0; ; retry++)
        {
            if (!_circuit.TryEnter(out var trial))
            {
                // The circuit is open: answered at once, without touching the device.
                result = Down;
                break;
            }

            var verdict = AttemptVerdict.Unproven;
            try
            {
                var remaining = _time.GetElapsedTime(now, attempt.Deadline);
                if (remaining <= TimeSpan.Zero)
                {
                    result = Silent;
                }
                else
                {
                    var rent = _pool.RentAsync(remaining < _options.Tcp.AcquireTimeout ? remaining : _options.Tcp.AcquireTimeout, cancellationToken);
                    var waited = !rent.IsCompleted;
                    var lease = await rent;
                    if (lease is not { Client: { } client, Connection: { } connection })
                    {
                        result = LeaseFailed(lease.Outcome);
                    }
                    else
                    {
                        var sentAt = waited ? _time.GetTimestamp() : now;
                        try
                        {
                            result = await client.ExchangeAsync(attempt.Unit, attempt.Request, attempt.Response, _time.GetElapsedTime(sentAt, attempt.Deadline), cancellationToken);
                            Answered(connection, attempt.Unit);
                        }
                        catch (Exception ex) when (IsExchangeFailure(ex, cancellationToken))
                        {
                            result = ExchangeFailed(ex, connection, client, attempt, sentAt, cancellationToken);
                        }
                        finally
                        {
                            _pool.Return(lease);
                        }
                    }
                }

                verdict = VerdictOf(result);
            }
            finally
            {
                // An attempt that ended in an exception proves nothing, and hands a trial on.
                _circuit.Record(verdict, trial);
            }

            if (result != Broke || retry == retries)
            {
                break;
            }

            var delay = RetryDelay(retry + 1);
            now = _time.GetTimestamp();
            if (now + (long)(delay.TotalSeconds * _time.TimestampFrequency) >= attempt.Deadline)
            {
                break;
            }

            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, CancellationToken.None);
                now = _time.GetTimestamp();
            }
        }

        return result >= 0
            ? result
            : caller.AnswerInDevicesPlace(attempt.Request.Span, attempt.Response.Span, result == NoPath ? ModbusExceptionCode.GatewayPathUnavailable : ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
    }

    /// <summary>The delay before retry <paramref name="retry"/> (1-based): retryDelay doubling, scaled by a random factor in [0.5, 1).</summary>
    private TimeSpan RetryDelay(int retry) =>
        _options.Tcp.RetryDelay * Math.Pow(2, retry - 1) * (0.5 + (0.5 * Random.Shared.NextDouble()));

    /// <summary>The result of an attempt that got no slot on an open connection.</summary>
    private int LeaseFailed(PoolLeaseOutcome outcome) => outcome switch
    {
        PoolLeaseOutcome.Abandoned => Abandoned,
        // The extra connection opened for this request failed while others work but are full (a device may
        // take only one): the gateway's own limit, nothing counted against the device.
        PoolLeaseOutcome.NoSlot or PoolLeaseOutcome.OthersBusy => NoPath,
        // Down: fail fast while the pool reconnects (docs/gateway.md, "Health").
        PoolLeaseOutcome.Down => Failed(Down),
        _ => Failed(Broke),
    };

    /// <summary>The device answered on <paramref name="connection"/>: the connection is not stalled, the unit not silent, the device healthy.</summary>
    private void Answered(PooledConnection<ModbusTcpClient> connection, byte unit)
    {
        connection.Timeouts = 0;
        if (_silentUnits.Contains(unit) && _silentUnits.Remove(unit))
        {
            TcpUpstreamLog.UnitAnswers(_logger, Name, unit);
        }

        Succeeded();
    }

    /// <summary>The ways an exchange on a pooled connection ends without an answer; anything else is a defect and propagates.</summary>
    private bool IsExchangeFailure(Exception ex, CancellationToken cancellationToken) =>
        (ex is OperationCanceledException && cancellationToken.IsCancellationRequested) || _closing.IsCancellationRequested
        || ex is TimeoutException or ModbusProtocolException or IOException or ObjectDisposedException;

    /// <summary>The result of an exchange that ended in <paramref name="ex"/> (<see cref="IsExchangeFailure"/>).</summary>
    private int ExchangeFailed(Exception ex, PooledConnection<ModbusTcpClient> connection, ModbusTcpClient client, Attempt attempt, long sentAt, CancellationToken cancellationToken)
    {
        if ((ex is OperationCanceledException && cancellationToken.IsCancellationRequested) || _closing.IsCancellationRequested)
        {
            return Abandoned;
        }

        if (ex is TimeoutException)
        {
            return TimedOut(connection, client, attempt, sentAt, ex.Message);
        }

        // A protocol violation, or a broken connection (ObjectDisposedException: closed by another request's failure
        // while this one started): the connection goes.
        _pool.Discard(connection, ex.Message, broken: true);
        return Failed(Broke);
    }

    /// <summary>
    /// No answer before the deadline. When the device answered anything meanwhile (on any connection), or the unit
    /// is already known silent, the unit is silent and the device is fine: logged once per unit, nothing counted
    /// against the device. Otherwise the device failed, and a connection on which nothing at all came back for
    /// <see cref="StalledAfterTimeouts"/> requests in a row is replaced.
    /// </summary>
    private int TimedOut(PooledConnection<ModbusTcpClient> connection, ModbusTcpClient client, Attempt attempt, long sentAt, string reason)
    {
        TcpUpstreamLog.NoAnswer(_logger, Name, attempt.Unit, attempt.Request.Span[0], reason);
        if (_silentUnits.Contains(attempt.Unit) || _pool.AnyConnection(static (other, sentAt) => other.LastAnswerAt >= sentAt, sentAt))
        {
            if (_silentUnits.Add(attempt.Unit))
            {
                TcpUpstreamLog.UnitSilent(_logger, Name, attempt.Unit, _options.RequestTimeout);
            }

            return UnitSilent;
        }

        if (client.LastAnswerAt < sentAt && Interlocked.Increment(ref connection.Timeouts) == StalledAfterTimeouts)
        {
            _pool.Discard(connection, $"{StalledAfterTimeouts} requests in a row got no answer and nothing came back on it", broken: true);
        }

        return Failed(Silent);
    }

    /// <summary>Unit 0 is a broadcast (Application Protocol 4.1): queued on any connection, never answered, never retried.</summary>
    private async ValueTask<int> BroadcastAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken)
    {
        var lease = await _pool.RentAsync(cancellationToken);
        if (lease.Outcome == PoolLeaseOutcome.NoSlot)
        {
            return caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.GatewayPathUnavailable);
        }

        if (lease is { Client: { } client, Connection: { } connection })
        {
            try
            {
                await client.SendUnansweredAsync(0, request);
                return 0;
            }
            catch (IOException ex)
            {
                _pool.Discard(connection, ex.Message, broken: false);
            }
            finally
            {
                _pool.Return(lease);
            }
        }

        return caller.AnswerInDevicesPlace(request.Span, response.Span, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);
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
            await ExchangeAsync(Attempt.Now(this, (byte)probe.Unit, request, response), retries: 0, new ModbusCaller("probe"), _closing);
        }
        while (await UpstreamTimers.WaitForTickAsync(timer, _closing));
    }

    /// <summary>The device failed a request (<paramref name="result"/> says how): recorded in the upstream's health.</summary>
    private int Failed(int result)
    {
        if (_health.RecordFailure())
        {
            Report("a request failed");
        }

        return result;
    }

    /// <summary>
    /// The pool went Down or came back. A device that accepts connections again is used at once: the failures that
    /// opened the circuit are history, so the circuit closes (and its counts start afresh).
    /// </summary>
    private void ReachabilityChanged(string reason)
    {
        if (!_pool.IsDown)
        {
            _circuit.Close();
        }

        Report(reason);
    }

    private void Succeeded()
    {
        if (_health.RecordSuccess())
        {
            Report("the device answered");
        }
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

    /// <summary>
    /// The arguments of one request, passed through the pipeline without a closure: when it started and its deadline
    /// (timestamps of the upstream's clock).
    /// </summary>
    private readonly record struct Attempt(byte Unit, ReadOnlyMemory<byte> Request, Memory<byte> Response, long Started, long Deadline)
    {
        /// <summary>A request starting now, with the upstream's requestTimeout.</summary>
        public static Attempt Now(ModbusTcpUpstream upstream, byte unit, ReadOnlyMemory<byte> request, Memory<byte> response)
        {
            var now = upstream._time.GetTimestamp();
            return new Attempt(unit, request, response, now, now + upstream._requestTimeoutTicks);
        }
    }
}
