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
/// Every request is written and flushed on its own, so each leaves in its own send (TCP_NODELAY). Thread-safe.
/// </summary>
public sealed class ModbusTcpClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ModbusClientOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PendingRequests<Answer> _pending;
    private readonly CancellationTokenSource _closed = new();
    private readonly CancellationToken _closedToken;
    private readonly Task _readLoop;

    private ModbusTcpClient(ClientConnection connection, ModbusClientOptions options)
    {
        _socket = connection.Socket;
        _options = options;
        // The reader disposes the stream when the read loop completes it.
        _input = PipeReader.Create(connection.Stream);
        _output = PipeWriter.Create(connection.Stream);
        RemoteEndPoint = TcpConnector.RemoteEndPointOf(_socket);
        _pending = new PendingRequests<Answer>(ushort.MaxValue, RemoteEndPoint.ToString()!);
        _closedToken = _closed.Token;
        _readLoop = ReadLoopAsync();
    }

    /// <summary>The server.</summary>
    public EndPoint RemoteEndPoint { get; }

    /// <summary>False once the connection closed, broke or was disposed: no request can be sent on it any more.</summary>
    public bool IsOpen => !_pending.IsClosed;

    /// <summary>Connects to a Modbus TCP server, or with <see cref="ModbusClientOptions.Tls"/> to a Modbus/TCP Security server.</summary>
    /// <exception cref="TimeoutException">No connection (and handshake) within <see cref="ModbusClientOptions.ConnectTimeout"/>.</exception>
    /// <exception cref="SocketException">The connection was refused or the host is unknown.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed: this client refused the server, or the server this client.</exception>
    public static async Task<ModbusTcpClient> ConnectAsync(string host, int port, ModbusClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ModbusClientOptions();
        var connection = await TcpConnector.ConnectAsync(host, port, options.ConnectTimeout, options.Tls, cancellationToken);
        return new ModbusTcpClient(connection, options);
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
        var (transactionId, completion) = _pending.Register();
        // Bounded by the request timeout and ended by DisposeAsync, whatever the caller's token.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closedToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            await WriteAsync((ushort)transactionId, unit, requestPdu, timeout.Token);
            var answer = await completion.Task.WaitAsync(timeout.Token);
            var mismatch = answer.Unit != unit
                ? $"unit {answer.Unit} answered a request to unit {unit}"
                : ModbusResponsePdu.FindMismatch(requestPdu.Span, answer.Pdu);
            if (mismatch is not null)
            {
                // Messaging Implementation Guide 4.4.1.1: the server recopies the unit id; an answer that does not fit
                // its request means the stream is out of step, so no later answer on it can be trusted.
                var failure = new ModbusProtocolException($"{RemoteEndPoint} broke the protocol (transaction {transactionId}): {mismatch}; the connection was closed.");
                Abort(failure);
                throw failure;
            }

            return answer.Pdu;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw _closedToken.IsCancellationRequested
                ? ClosedByOwner()
                : new TimeoutException($"No response from {RemoteEndPoint} to function 0x{requestPdu.Span[0]:X2} for unit {unit} (transaction {transactionId}) within {_options.RequestTimeout}.");
        }
        finally
        {
            _pending.Remove(transactionId);
        }
    }

    /// <summary>
    /// Sends a request PDU that is not answered (a broadcast to unit 0, Application Protocol 4.1 / Serial Line 2.1) and
    /// returns once it is written. Its transaction id is 0, which no waiting request ever has.
    /// </summary>
    /// <exception cref="IOException">The connection is closed or broke.</exception>
    /// <exception cref="TimeoutException">Not written within <see cref="ModbusClientOptions.RequestTimeout"/>; the connection was closed.</exception>
    public async Task SendUnansweredAsync(byte unit, ReadOnlyMemory<byte> requestPdu, CancellationToken cancellationToken = default)
    {
        if (!IsOpen)
        {
            throw new IOException($"The connection to {RemoteEndPoint} is closed.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closedToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            await WriteAsync(0, unit, requestPdu, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw _closedToken.IsCancellationRequested
                ? ClosedByOwner()
                : new TimeoutException($"The broadcast of function 0x{requestPdu.Span[0]:X2} to {RemoteEndPoint} was not written within {_options.RequestTimeout}; the connection was closed.");
        }
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
        _pending.FailAll(reason);
        _input.CancelPendingRead();
        TcpConnector.ShutdownQuietly(_socket);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _pending.FailAll(new ObjectDisposedException(nameof(ModbusTcpClient), $"The connection to {RemoteEndPoint} was closed by its owner."));
        // Requests still waiting for the write lock or their answer see the token and fail with an IOException. The
        // lock and the token source are not disposed: a request may still hold or wait for them (neither has a timer).
        await _closed.CancelAsync();
        _input.CancelPendingRead();
        TcpConnector.ShutdownQuietly(_socket);

        await _readLoop;
        _socket.Dispose();
    }

    /// <summary>
    /// Encodes and flushes one request under the write lock. A write that fails or is cancelled half-way may leave
    /// its bytes in the pipe, to go out in front of the next request: the stream can no longer be trusted, so the
    /// connection is closed.
    /// </summary>
    private async Task WriteAsync(ushort transactionId, byte unit, ReadOnlyMemory<byte> requestPdu, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            // Nothing written yet: a request given up while it waited for the lock leaves the connection as it is.
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                ModbusTcpCodec.Encode(transactionId, unit, requestPdu.Span, _output);
                await _output.FlushAsync(cancellationToken);
            }
            catch (AuthenticationException refused)
            {
                Abort(refused);
                throw;
            }
            catch (Exception ex)
            {
                var failure = new IOException($"A request to {RemoteEndPoint} could not be written whole ({ex.Message}); the connection was closed.", ex);
                Abort(failure);
                if (ex is OperationCanceledException)
                {
                    throw;
                }

                throw failure;
            }
        }
        finally
        {
            _writeLock.Release();
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

                    // No waiter: the request timed out or was cancelled; its late response is dropped.
                    _pending.TryComplete(frame.Header.TransactionId, new Answer(frame.Header.UnitId, frame.Pdu.ToArray()));
                    buffer = buffer.Slice(consumed);
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    _pending.FailAll(new IOException($"{RemoteEndPoint} closed the connection."));
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or AuthenticationException)
        {
            _pending.FailAll(ex is IOException or AuthenticationException ? ex : new IOException($"The connection to {RemoteEndPoint} broke: {ex.Message}", ex));
        }
        finally
        {
            await _input.CompleteAsync();
        }
    }

    /// <summary>A response as read: the unit it came from and its PDU.</summary>
    private readonly record struct Answer(byte Unit, byte[] Pdu);
}
