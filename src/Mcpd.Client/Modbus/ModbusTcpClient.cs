using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Mcpd.Client.Internal;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Client.Modbus;

/// <summary>
/// An asynchronous Modbus TCP client. Many requests may be in flight on one connection: each gets its own
/// transaction id and its response is matched by it, so responses may arrive in any order. A response that
/// arrives after its request timed out is dropped, never handed to another request. A response from another unit,
/// for another function or of an impossible length closes the connection (<see cref="ModbusProtocolException"/>).
/// Requests are queued whole in an outbox that one send loop writes to the socket: requests made while a send is
/// under way leave together in the next one (a device that takes requests one per segment is given one at a time:
/// one request in flight). A request allocates nothing (<see cref="ExchangeAsync(byte, ReadOnlyMemory{byte}, Memory{byte}, TimeSpan, CancellationToken)"/>). Thread-safe.
/// </summary>
public sealed class ModbusTcpClient : IAsyncDisposable, IBatchFlushable
{
    /// <summary>Bytes the outbox may hold unsent; a request beyond it fails at once (the device reads nothing).</summary>
    private const int MaxUnsentBytes = 1 << 20;

    private readonly IClientTransport _transport;
    private readonly PipeReader _input;
    private readonly Pipe _outbox;
    private readonly Lock _writeLock = new();
    private readonly ModbusClientOptions _options;
    private readonly ModbusExchangeTable _exchanges;
    private readonly Task _readLoop;
    private readonly Task _sendLoop;
    private int _unsentBytes;
    private long _sendStartedAt;
    private long _lastAnswerAt;

    private ModbusTcpClient(IClientTransport transport, ModbusClientOptions options)
    {
        _transport = transport;
        _options = options;
        _input = transport.Pipe.Input;
        // Unbounded here (a flush never waits, so requests are queued under a lock): MaxUnsentBytes bounds it. The
        // send loop runs inline in the flush, on the thread that queued (no thread switch per send); requests queued
        // while its write waits for the socket go out together after it.
        _outbox = new Pipe(new PipeOptions(pauseWriterThreshold: 0, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        RemoteEndPoint = transport.RemoteEndPoint;
        _exchanges = new ModbusExchangeTable(RemoteEndPoint.ToString()!, AbortIfStalled);
        _readLoop = ReadLoopAsync();
        _sendLoop = SendLoopAsync();
    }

    /// <summary>The server.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>False once the connection closed, broke or was disposed: no request can be sent on it any more.</summary>
    public bool IsOpen => !_exchanges.IsClosed;

    /// <summary>When the last response arrived (a <see cref="TimeProvider.System"/> timestamp; 0 before the first): proof that the server is alive.</summary>
    public long LastAnswerAt => Volatile.Read(ref _lastAnswerAt);

    /// <summary>Connects to a Modbus TCP server, or with <see cref="ModbusClientOptions.Tls"/> to a Modbus/TCP Security server.</summary>
    /// <exception cref="TimeoutException">No connection (and handshake) within <see cref="ModbusClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="SocketException">The connection was refused or the host is unknown.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed: this client refused the server, or the server this client.</exception>
    public static async Task<ModbusTcpClient> ConnectAsync(string host, int port, ModbusClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ModbusClientOptions();
        var connection = await TcpConnector.ConnectAsync(host, port, options.ConnectTimeout, options.Tls, cancellationToken);
        return new ModbusTcpClient(new StreamClientTransport(connection), options);
    }

    /// <summary>
    /// A client over a connection opened elsewhere (<see cref="IClientTransport"/>), which it owns from now on: disposing
    /// the client disposes it. <see cref="ModbusClientOptions.ConnectTimeout"/> and <see cref="ModbusClientOptions.Tls"/> do not apply.
    /// </summary>
    public static ModbusTcpClient Create(IClientTransport transport, ModbusClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new ModbusTcpClient(transport, options ?? new ModbusClientOptions());
    }

    /// <summary>
    /// Sends a request PDU to <paramref name="unit"/> and returns the response PDU, normal or exception, as received.
    /// </summary>
    /// <exception cref="TimeoutException">No response within <see cref="ModbusClientOptions.RequestTimeout"/>.</exception>
    /// <exception cref="IOException">The connection is closed or broke.</exception>
    /// <exception cref="ModbusProtocolException">The response cannot answer this request; the connection was closed.</exception>
    /// <exception cref="AuthenticationException">Over TLS, the server refused this client's certificate (it closed the connection right after the handshake).</exception>
    public async Task<byte[]> SendAsync(byte unit, ReadOnlyMemory<byte> requestPdu, CancellationToken cancellationToken = default)
    {
        var response = ArrayPool<byte>.Shared.Rent(ModbusLimits.MaxPduLength);
        try
        {
            var length = await ExchangeAsync(unit, requestPdu, response, _options.RequestTimeout, inline: false, cancellationToken);
            return response.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(response);
        }
    }

    /// <summary>
    /// Sends a request PDU to <paramref name="unit"/> and copies the response PDU, normal or exception, into
    /// <paramref name="responsePdu"/> (at least <see cref="ModbusLimits.MaxPduLength"/> bytes); returns its length.
    /// Allocates nothing: this is the gateway's path. The continuation after the await runs on the connection's
    /// read loop, before the next response is read: it must not block. Both buffers must stay untouched until the
    /// returned task completes.
    /// </summary>
    /// <param name="unit">The unit id.</param>
    /// <param name="requestPdu">The request PDU.</param>
    /// <param name="responsePdu">Where the response PDU goes.</param>
    /// <param name="timeout">How long to wait for the response (checked every 10 ms).</param>
    /// <param name="cancellationToken">Gives up waiting; the request may have been sent.</param>
    /// <exception cref="TimeoutException">No response within <paramref name="timeout"/>.</exception>
    /// <exception cref="IOException">The connection is closed or broke, or the device has not read a megabyte of requests.</exception>
    /// <exception cref="ModbusProtocolException">The response cannot answer this request; the connection was closed.</exception>
    /// <exception cref="AuthenticationException">Over TLS, the server refused this client's certificate.</exception>
    public ValueTask<int> ExchangeAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        ExchangeAsync(unit, requestPdu, responsePdu, timeout, inline: true, cancellationToken);

    /// <summary>
    /// Queues a request PDU that is not answered (a broadcast to unit 0, Application Protocol 4.1 / Serial Line 2.1)
    /// for sending. Its transaction id is 0, which no waiting request ever has.
    /// </summary>
    /// <exception cref="IOException">The connection is closed or broke, or the device has not read a megabyte of requests.</exception>
    public Task SendUnansweredAsync(byte unit, ReadOnlyMemory<byte> requestPdu)
    {
        if (!IsOpen)
        {
            throw new IOException($"The connection to {RemoteEndPoint} is closed.");
        }

        Queue(0, unit, requestPdu.Span);
        return Task.CompletedTask;
    }

    /// <summary>FC01: reads <paramref name="count"/> coils.</summary>
    public Task<bool[]> ReadCoilsAsync(byte unit, ushort address, int count, CancellationToken cancellationToken = default) =>
        ReadBitsAsync(unit, ModbusFunctionCode.ReadCoils, address, count, cancellationToken);

    /// <summary>FC02: reads <paramref name="count"/> discrete inputs.</summary>
    public Task<bool[]> ReadDiscreteInputsAsync(byte unit, ushort address, int count, CancellationToken cancellationToken = default) =>
        ReadBitsAsync(unit, ModbusFunctionCode.ReadDiscreteInputs, address, count, cancellationToken);

    /// <summary>FC03: reads <paramref name="count"/> holding registers.</summary>
    public Task<ushort[]> ReadHoldingRegistersAsync(byte unit, ushort address, int count, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(unit, ModbusFunctionCode.ReadHoldingRegisters, address, count, cancellationToken);

    /// <summary>FC04: reads <paramref name="count"/> input registers.</summary>
    public Task<ushort[]> ReadInputRegistersAsync(byte unit, ushort address, int count, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(unit, ModbusFunctionCode.ReadInputRegisters, address, count, cancellationToken);

    /// <summary>FC05: writes one coil.</summary>
    public Task WriteSingleCoilAsync(byte unit, ushort address, bool value, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        return WriteAsync(unit, pdu, ModbusRequestPdu.WriteSingleCoil(pdu, address, value), cancellationToken);
    }

    /// <summary>FC06: writes one holding register.</summary>
    public Task WriteSingleRegisterAsync(byte unit, ushort address, ushort value, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        return WriteAsync(unit, pdu, ModbusRequestPdu.WriteSingleRegister(pdu, address, value), cancellationToken);
    }

    /// <summary>FC0F: writes consecutive coils.</summary>
    public Task WriteMultipleCoilsAsync(byte unit, ushort address, ReadOnlySpan<bool> values, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        return WriteAsync(unit, pdu, ModbusRequestPdu.WriteMultipleCoils(pdu, address, values), cancellationToken);
    }

    /// <summary>FC10: writes consecutive holding registers; readers never see half of it.</summary>
    public Task WriteMultipleRegistersAsync(byte unit, ushort address, ReadOnlySpan<ushort> values, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        return WriteAsync(unit, pdu, ModbusRequestPdu.WriteMultipleRegisters(pdu, address, values), cancellationToken);
    }

    /// <summary>FC16: register = (register AND andMask) OR (orMask AND NOT andMask).</summary>
    public Task MaskWriteRegisterAsync(byte unit, ushort address, ushort andMask, ushort orMask, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        return WriteAsync(unit, pdu, ModbusRequestPdu.MaskWriteRegister(pdu, address, andMask, orMask), cancellationToken);
    }

    /// <summary>FC17: writes <paramref name="values"/>, then reads; both in one atomic transaction.</summary>
    public async Task<ushort[]> ReadWriteMultipleRegistersAsync(byte unit, ushort readAddress, int readCount, ushort writeAddress, ReadOnlyMemory<ushort> values, CancellationToken cancellationToken = default)
    {
        var pdu = new byte[ModbusLimits.MaxPduLength];
        var length = ModbusRequestPdu.ReadWriteMultipleRegisters(pdu, readAddress, readCount, writeAddress, values.Span);
        var response = await SendCheckedAsync(unit, pdu.AsMemory(0, length), cancellationToken);
        var registers = new ushort[readCount];
        ModbusResponsePdu.ReadRegisters(response, ModbusFunctionCode.ReadWriteMultipleRegisters, registers);
        return registers;
    }

    /// <summary>
    /// FC2B/0E: reads the identification objects of <paramref name="code"/>'s category, following More Follows
    /// across as many responses as the device needs.
    /// </summary>
    public async Task<IReadOnlyDictionary<byte, string>> ReadDeviceIdentificationAsync(byte unit, ReadDeviceIdCode code = ReadDeviceIdCode.Regular, CancellationToken cancellationToken = default)
    {
        var objects = new SortedDictionary<byte, string>();
        byte? next = 0;
        var pdu = new byte[ModbusLimits.MaxPduLength];
        while (next is { } objectId)
        {
            var length = ModbusRequestPdu.ReadDeviceIdentification(pdu, code, objectId);
            var response = await SendCheckedAsync(unit, pdu.AsMemory(0, length), cancellationToken);
            next = ModbusResponsePdu.ReadDeviceIdentification(response, objects);
            if (code == ReadDeviceIdCode.Individual || next <= objectId)
            {
                break;
            }
        }

        return objects;
    }

    /// <summary>Closes the connection because of <paramref name="reason"/>: every waiting request fails with it.</summary>
    private void Abort(Exception reason)
    {
        _exchanges.FailAll(reason);
        _input.CancelPendingRead();
        _outbox.Reader.CancelPendingRead();
        _transport.Abort();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Requests still waiting fail with an IOException; the loops end when the socket is shut down.
        Abort(new ObjectDisposedException(nameof(ModbusTcpClient), ClosedByOwner().Message));
        lock (_writeLock)
        {
            _outbox.Writer.Complete();
        }

        await _readLoop;
        await _sendLoop;
        _exchanges.Dispose();
        await _transport.DisposeAsync();
    }

    private ValueTask<int> ExchangeAsync(byte unit, ReadOnlyMemory<byte> requestPdu, Memory<byte> responsePdu, TimeSpan timeout, bool inline, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        ModbusExchange exchange;
        ValueTask<int> completion;
        try
        {
            exchange = _exchanges.Register(unit, requestPdu, responsePdu, timeout, inline, out completion);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }

        if (cancellationToken.CanBeCanceled)
        {
            exchange.Cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((ModbusExchange)state!).Cancel(token), exchange);
        }

        try
        {
            Queue(exchange.TransactionId, unit, requestPdu.Span);
        }
        catch (Exception ex)
        {
            if (_exchanges.TryTake(exchange))
            {
                exchange.Fail(ex);
            }
        }

        return completion;
    }

    /// <summary>
    /// Queues one request whole in the outbox and wakes the send loop. A request is either queued whole or not at
    /// all, so the stream never carries half a request in front of the next.
    /// </summary>
    private void Queue(ushort transactionId, byte unit, ReadOnlySpan<byte> requestPdu)
    {
        var length = ModbusLimits.MbapHeaderLength + requestPdu.Length;
        lock (_writeLock)
        {
            if (_exchanges.IsClosed)
            {
                throw new IOException($"The connection to {RemoteEndPoint} is closed.");
            }

            if (Volatile.Read(ref _unsentBytes) + length > MaxUnsentBytes)
            {
                throw new IOException($"{RemoteEndPoint} has not read the last {MaxUnsentBytes / 1024} KiB of requests; this one was not sent.");
            }

            ModbusTcpCodec.Encode(transactionId, unit, requestPdu, _outbox.Writer);
            Interlocked.Add(ref _unsentBytes, length);
            if (FlushBatch.TryDefer(this))
            {
                return;
            }

            if (!FlushOutbox())
            {
                throw new IOException($"The connection to {RemoteEndPoint} is closed.");
            }
        }
    }

    /// <summary>Wakes the send loop for the requests queued in a batch (<see cref="FlushBatch"/>).</summary>
    void IBatchFlushable.FlushBatched()
    {
        lock (_writeLock)
        {
            // A closed connection has failed its requests already (FailAll): nothing is left to tell.
            if (!_exchanges.IsClosed)
            {
                FlushOutbox();
            }
        }
    }

    /// <summary>Hands the queued requests to the send loop (under the write lock); false when the send loop is gone.</summary>
    private bool FlushOutbox()
    {
        // Never waits: the outbox has no pause threshold.
        var flush = _outbox.Writer.FlushAsync();
        return flush.IsCompletedSuccessfully && !flush.Result.IsCompleted;
    }

    /// <summary>
    /// Writes what the outbox holds, all of it in one write when it is one segment. A write that fails or breaks
    /// off closes the connection: the requests behind it can no longer be sent whole.
    /// </summary>
    private async Task SendLoopAsync()
    {
        var outbox = _outbox.Reader;
        var output = _transport.Pipe.Output;
        try
        {
            while (true)
            {
                var result = await outbox.ReadAsync();
                if (result.IsCanceled || (result.IsCompleted && result.Buffer.IsEmpty))
                {
                    return;
                }

                Volatile.Write(ref _sendStartedAt, TimeProvider.System.GetTimestamp());
                foreach (var segment in result.Buffer)
                {
                    output.Write(segment.Span);
                }

                if ((await output.FlushAsync()).IsCompleted)
                {
                    throw new IOException($"{RemoteEndPoint} closed the connection.");
                }

                Volatile.Write(ref _sendStartedAt, 0);
                Interlocked.Add(ref _unsentBytes, -(int)result.Buffer.Length);
                outbox.AdvanceTo(result.Buffer.End);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or AuthenticationException)
        {
            Abort(ex is AuthenticationException ? ex : new IOException($"A request to {RemoteEndPoint} could not be written whole ({ex.Message}); the connection was closed.", ex));
        }
        finally
        {
            await outbox.CompleteAsync();
        }
    }

    /// <summary>
    /// A device that stops reading its requests leaves a write pending forever: once one has waited longer than a
    /// request may wait for its answer, the connection is closed (every request on it could only time out).
    /// </summary>
    private void AbortIfStalled(long now)
    {
        var started = Volatile.Read(ref _sendStartedAt);
        if (started != 0 && TimeProvider.System.GetElapsedTime(started, now) > _options.RequestTimeout)
        {
            Abort(new IOException($"{RemoteEndPoint} has read none of the requests written to it for {_options.RequestTimeout}; the connection was closed."));
        }
    }

    private IOException ClosedByOwner() => new($"The connection to {RemoteEndPoint} was closed by its owner.");

    private async Task<bool[]> ReadBitsAsync(byte unit, ModbusFunctionCode function, ushort address, int count, CancellationToken cancellationToken)
    {
        var pdu = new byte[5];
        ModbusRequestPdu.Read(pdu, function, address, count);
        var response = await SendCheckedAsync(unit, pdu, cancellationToken);
        var bits = new bool[count];
        ModbusResponsePdu.ReadBits(response, function, bits);
        return bits;
    }

    private async Task<ushort[]> ReadRegistersAsync(byte unit, ModbusFunctionCode function, ushort address, int count, CancellationToken cancellationToken)
    {
        var pdu = new byte[5];
        ModbusRequestPdu.Read(pdu, function, address, count);
        var response = await SendCheckedAsync(unit, pdu, cancellationToken);
        var registers = new ushort[count];
        ModbusResponsePdu.ReadRegisters(response, function, registers);
        return registers;
    }

    private async Task WriteAsync(byte unit, byte[] pdu, int length, CancellationToken cancellationToken)
    {
        var response = await SendCheckedAsync(unit, pdu.AsMemory(0, length), cancellationToken);
        ModbusResponsePdu.ExpectEcho(response, pdu.AsSpan(0, length));
    }

    /// <summary>Sends and turns an exception response into a <see cref="ModbusException"/>.</summary>
    private async Task<byte[]> SendCheckedAsync(byte unit, ReadOnlyMemory<byte> pdu, CancellationToken cancellationToken)
    {
        var response = await SendAsync(unit, pdu, cancellationToken);
        return ModbusResponsePdu.IsException(response, out var code) ? throw new ModbusException(pdu.Span[0], code) : response;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                // The answers handed out below run their callers inline: what they write is flushed once, after the read.
                using var batch = FlushBatch.Begin();
                while (true)
                {
                    var status = ModbusTcpCodec.Decode(buffer, out var frame, out var consumed);
                    if (status == OperationStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == OperationStatus.InvalidData)
                    {
                        throw new IOException(ProtocolSniffer.Describe(buffer) is { } other
                            ? $"{RemoteEndPoint} does not speak Modbus TCP: {other}."
                            : $"{RemoteEndPoint} sent an impossible MBAP length {frame.Header.Length}; the stream cannot be trusted any more.");
                    }

                    Answer(frame);
                    buffer = buffer.Slice(consumed);
                }

                if (!result.Buffer.IsEmpty)
                {
                    Volatile.Write(ref _lastAnswerAt, TimeProvider.System.GetTimestamp());
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    _exchanges.FailAll(new IOException($"{RemoteEndPoint} closed the connection."));
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or AuthenticationException)
        {
            Abort(ex is IOException or AuthenticationException ? ex : new IOException($"The connection to {RemoteEndPoint} broke: {ex.Message}", ex));
        }
        finally
        {
            await _input.CompleteAsync();
        }
    }

    /// <summary>
    /// Hands a response to the request waiting for its transaction id (none: it timed out or was cancelled, and its
    /// late response is dropped). A response that cannot answer its request closes the connection.
    /// </summary>
    private void Answer(in ModbusTcpFrame frame)
    {
        if (_exchanges.TryTake(frame.Header.TransactionId) is not { } exchange)
        {
            return;
        }

        var pdu = frame.Pdu;
        var mismatch = frame.Header.UnitId != exchange.Unit ? $"unit {frame.Header.UnitId} answered a request to unit {exchange.Unit}"
            : pdu.Length > exchange.Response.Length ? $"a response of {pdu.Length} bytes to a request whose answer fits {exchange.Response.Length}"
            : null;
        if (mismatch is null)
        {
            pdu.CopyTo(exchange.Response.Span);
            mismatch = ModbusResponsePdu.FindMismatch(exchange.Request.Span, exchange.Response.Span[..(int)pdu.Length]);
        }

        if (mismatch is null)
        {
            exchange.Complete((int)pdu.Length);
            return;
        }

        // Messaging Implementation Guide 4.4.1.1: the server recopies the unit id; an answer that does not fit its
        // request means the stream is out of step, so no later answer on it can be trusted.
        var failure = new ModbusProtocolException($"{RemoteEndPoint} broke the protocol (transaction {exchange.TransactionId}): {mismatch}; the connection was closed.");
        exchange.Fail(failure);
        Abort(failure);
    }
}
