using System.Buffers;
using System.IO.Pipelines;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Modbus;

/// <summary>
/// Serves one Modbus TCP connection. Read loop (architecture guide): decode and answer every complete ADU of a
/// read, then one AdvanceTo and one flush per batch, so pipelined and coalesced requests are all answered and a
/// request split across reads waits until it is whole. Devices that answer synchronously (simulated) are served
/// in order without allocating; asynchronous ones (gateways) complete out of order, each answer carrying its
/// transaction id, at most <see cref="ModbusServerOptions.MaxInFlightPerConnection"/> at a time (then exception 06).
/// </summary>
internal sealed class ModbusConnection : IDisposable
{
    /// <summary>A pooled scratch block: request PDU in the first half, response PDU in the second.</summary>
    private const int ScratchHalf = 256;

    private readonly ConnectionContext _context;
    private readonly TrackedConnection _tracked;
    private readonly ConnectionRegistry _connections;
    private readonly DeviceRegistry _devices;
    private readonly ModbusServerOptions _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PipeWriter _output;

    /// <summary>Serialises writes of the read loop and of asynchronous completions to the output pipe.</summary>
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private TaskCompletionSource? _drained;
    private int _inFlight;
    private int _draining;

    public ModbusConnection(ConnectionContext context, TrackedConnection tracked, ConnectionRegistry connections, DeviceRegistry devices, ModbusServerOptions settings, TimeProvider time, ILogger logger)
    {
        _context = context;
        _tracked = tracked;
        _connections = connections;
        _devices = devices;
        _settings = settings;
        _time = time;
        _logger = logger;
        _output = context.Transport.Output;
    }

    public async Task RunAsync()
    {
        var input = _context.Transport.Input;
        // Graceful shutdown: Kestrel asks the connection to close; the loop answers what it has read, then ends.
        var lifetime = _context.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var closing = lifetime?.ConnectionClosedRequested.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), input);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                _tracked.Touch(_time);

                await _writeLock.WaitAsync();
                bool keepOpen;
                SequencePosition consumed;
                try
                {
                    keepOpen = AnswerBatch(buffer, out consumed, out var answered);
                    if (answered)
                    {
                        await _output.FlushAsync();
                    }
                }
                finally
                {
                    _writeLock.Release();
                }

                input.AdvanceTo(consumed, buffer.End);
                if (!keepOpen || result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException)
        {
            ModbusLog.TransportEnded(_logger, _context.ConnectionId, ex.Message);
        }
        finally
        {
            await DrainAsync();
            _connections.Remove(_tracked);
            Dispose();
            ModbusLog.Disconnected(_logger, _context.ConnectionId, _context.RemoteEndPoint);
        }
    }

    /// <summary>
    /// Answers every complete ADU in <paramref name="buffer"/>; returns false when the connection must close
    /// (an impossible MBAP length). <paramref name="consumed"/> ends after the last whole ADU.
    /// </summary>
    private bool AnswerBatch(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool answered)
    {
        answered = false;
        var scratch = ArrayPool<byte>.Shared.Rent(2 * ScratchHalf);
        try
        {
            while (true)
            {
                var status = ModbusTcpCodec.Decode(buffer, out var frame, out var end);
                if (status == OperationStatus.NeedMoreData)
                {
                    consumed = buffer.Start;
                    return true;
                }

                if (status == OperationStatus.InvalidData)
                {
                    ModbusLog.InvalidLength(_logger, _context.ConnectionId, _context.RemoteEndPoint, frame.Header.Length, frame.Header.TransactionId);
                    consumed = buffer.Start;
                    return false;
                }

                buffer = buffer.Slice(end);
                if (frame.Header.ProtocolId != 0)
                {
                    // Implementation Guide 4.4.2.2: a frame of another protocol is discarded without an answer.
                    ModbusLog.ForeignProtocol(_logger, _context.ConnectionId, frame.Header.ProtocolId);
                    continue;
                }

                var requestLength = frame.CopyPduTo(scratch).Length;
                answered |= Answer(frame.Header, ref scratch, requestLength);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Executes one request held in the first half of <paramref name="scratch"/>. Returns true when a response was
    /// written now. When the device goes asynchronous, the scratch block travels with the pending request and a
    /// fresh one replaces it.
    /// </summary>
    private bool Answer(MbapHeader header, ref byte[] scratch, int requestLength)
    {
        var response = scratch.AsMemory(ScratchHalf, ScratchHalf);
        var function = scratch[0];
        var device = _devices.Resolve(header.UnitId);
        if (device is null)
        {
            ModbusLog.UnknownUnit(_logger, _context.ConnectionId, header.UnitId);
            if (_settings.UnknownUnit == UnknownUnitPolicy.Ignore)
            {
                return false;
            }

            return WriteResponse(header, response.Span[..ModbusResponsePdu.WriteException(response.Span, function, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond)]);
        }

        if (Volatile.Read(ref _inFlight) >= _settings.MaxInFlightPerConnection)
        {
            return WriteResponse(header, response.Span[..ModbusResponsePdu.WriteException(response.Span, function, ModbusExceptionCode.ServerDeviceBusy)]);
        }

        ValueTask<int> execution;
        try
        {
            execution = device.ExecuteAsync(scratch.AsMemory(0, requestLength), response, _context.ConnectionClosed);
        }
        catch (Exception ex)
        {
            execution = ValueTask.FromException<int>(ex);
        }

        if (execution.IsCompleted)
        {
            return WriteResponse(header, response.Span[..Complete(execution, header, function, response.Span)]);
        }

        Interlocked.Increment(ref _inFlight);
        _ = AnswerLaterAsync(execution, header, function, scratch);
        scratch = ArrayPool<byte>.Shared.Rent(2 * ScratchHalf);
        return false;
    }

    /// <summary>The response length of a finished execution; a failed one answers exception 04.</summary>
    private int Complete(ValueTask<int> execution, MbapHeader header, byte function, Span<byte> response)
    {
        if (execution.IsCompletedSuccessfully)
        {
            return execution.Result;
        }

        try
        {
            execution.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            ModbusLog.DeviceFailed(_logger, ex, _context.ConnectionId, header.UnitId, function);
        }

        return ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.ServerDeviceFailure);
    }

    private async Task AnswerLaterAsync(ValueTask<int> execution, MbapHeader header, byte function, byte[] scratch)
    {
        try
        {
            int length;
            try
            {
                length = await execution;
            }
            catch (Exception ex) when (!_context.ConnectionClosed.IsCancellationRequested)
            {
                ModbusLog.DeviceFailed(_logger, ex, _context.ConnectionId, header.UnitId, function);
                length = ModbusResponsePdu.WriteException(scratch.AsSpan(ScratchHalf), function, ModbusExceptionCode.ServerDeviceFailure);
            }

            await _writeLock.WaitAsync();
            try
            {
                WriteResponse(header, scratch.AsSpan(ScratchHalf, length));
                await _output.FlushAsync();
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or InvalidOperationException)
        {
            // The connection ended while the device worked; nobody is left to answer.
            ModbusLog.TransportEnded(_logger, _context.ConnectionId, ex.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _draining) == 1)
            {
                Volatile.Read(ref _drained)?.TrySetResult();
            }
        }
    }

    private bool WriteResponse(MbapHeader header, ReadOnlySpan<byte> pdu)
    {
        ModbusTcpCodec.Encode(header.TransactionId, header.UnitId, pdu, _output);
        return true;
    }

    /// <summary>Called by <see cref="RunAsync"/> itself once every transaction has drained.</summary>
    public void Dispose() => _writeLock.Dispose();

    /// <summary>Waits for asynchronous transactions still running; Kestrel's shutdown timeout bounds the wait.</summary>
    private Task DrainAsync()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            return Task.CompletedTask;
        }

        // Allocated only when transactions are still running; the second check closes the race with the last one.
        Interlocked.CompareExchange(ref _drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _drained.TrySetResult();
        }

        return _drained.Task;
    }
}
