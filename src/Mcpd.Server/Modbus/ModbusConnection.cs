using System.Buffers;
using System.Diagnostics;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Modbus;

/// <summary>
/// Serves one Modbus TCP connection. Read loop (architecture guide): decode and answer every complete ADU of a
/// read, then one AdvanceTo and one flush per batch, so pipelined and coalesced requests are all answered and a
/// request split across reads waits until it is whole. Devices that answer synchronously (simulated) are served
/// in order without allocating; asynchronous ones (gateways) complete out of order, each answer carrying its
/// transaction id, at most <see cref="ModbusServerOptions.MaxInFlightPerConnection"/> at a time (then exception 06).
/// </summary>
internal sealed class ModbusConnection(
    ConnectionContext context, string listener, ModbusServices services, ModbusServerOptions settings, ClientAuthorization? authorization)
    : ProtocolConnection(context, listener, settings.IdleTimeout, services)
{
    internal override ModbusServices Services => services;

    internal override int MaxInFlight => settings.MaxInFlightPerConnection;

    /// <summary>Modbus answers the excess with exception 06 (server busy) instead of pausing.</summary>
    protected override bool PausesReadingWhenBusy => false;

    protected internal override void OnTransportEnded(string reason) => ModbusLog.TransportEnded(services.Logger, Context.ConnectionId, reason);

    protected override void OnClosed() => ModbusLog.Disconnected(services.Logger, Context.ConnectionId, Context.RemoteEndPoint);

    /// <summary>
    /// Answers every complete ADU in <paramref name="buffer"/>; returns false when the connection must close
    /// (an impossible MBAP length). <paramref name="consumed"/> ends after the last whole ADU.
    /// </summary>
    protected override bool AnswerBatch(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool answered, out bool paused)
    {
        // Modbus never pauses: a request beyond the in-flight limit is answered exception 06.
        paused = false;
        answered = false;
        var scratch = ModbusPduExecution.RentScratch();
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
                    if (MayLogRejection())
                    {
                        ModbusLog.InvalidLength(services.Logger, Context.ConnectionId, Context.RemoteEndPoint, frame.Header.Length, frame.Header.TransactionId);
                    }

                    consumed = buffer.Start;
                    return false;
                }

                buffer = buffer.Slice(end);
                if (frame.Header.ProtocolId != 0)
                {
                    // Implementation Guide 4.4.2.2: a frame of another protocol is discarded without an answer.
                    FrameRead();
                    ModbusLog.ForeignProtocol(services.Logger, Context.ConnectionId, frame.Header.ProtocolId);
                    continue;
                }

                RequestRead();
                var requestLength = frame.CopyPduTo(scratch).Length;
                answered |= Answer(frame.Header, ref scratch, requestLength);
            }
        }
        finally
        {
            ModbusPduExecution.ReturnScratch(scratch);
        }
    }

    /// <summary>
    /// Executes one request held in the first half of <paramref name="scratch"/>. Returns true when a response was
    /// written now. When the device goes asynchronous, the scratch block travels with the pending request and a
    /// fresh one replaces it. A span (and the logging scope of its trace id) exists only when a listener samples it.
    /// </summary>
    private bool Answer(MbapHeader header, ref byte[] scratch, int requestLength)
    {
        var request = new RequestStart(header, scratch[0], requestLength, BatchStarted, services.Tracing.StartModbusRequest(header.UnitId, scratch[0]));
        using var scope = request.Span is null ? null : TraceScope.Begin(services.Logger, request.Span.TraceId.ToHexString());
        var response = scratch.AsMemory(ModbusPduExecution.ScratchHalf, ModbusPduExecution.ScratchHalf);
        // Modbus/TCP Security: a request the client's role does not allow is answered exception 01 (ILLEGAL FUNCTION),
        // before anything else, so a client learns nothing from what it may not do (not even which units exist).
        if (authorization is not null && !authorization.AllowsModbus(header.UnitId, scratch.AsSpan(0, requestLength)))
        {
            return WriteResponse(request, scratch, response.Span[..ModbusResponsePdu.WriteException(response.Span, request.Function, ModbusExceptionCode.IllegalFunction)]);
        }

        var device = services.Devices.Resolve(header.UnitId);
        if (device is null)
        {
            ModbusLog.UnknownUnit(services.Logger, Context.ConnectionId, header.UnitId);
            if (settings.UnknownUnit == UnknownUnitPolicy.Ignore)
            {
                return WriteResponse(request, scratch, []);
            }

            var exception = settings.UnknownUnit == UnknownUnitPolicy.PathUnavailable
                ? ModbusExceptionCode.GatewayPathUnavailable
                : ModbusExceptionCode.GatewayTargetDeviceFailedToRespond;
            return WriteResponse(request, scratch, response.Span[..ModbusResponsePdu.WriteException(response.Span, request.Function, exception)]);
        }

        if (!HasFreeSlot)
        {
            return WriteResponse(request, scratch, response.Span[..ModbusResponsePdu.WriteException(response.Span, request.Function, ModbusExceptionCode.ServerDeviceBusy)]);
        }

        var length = ModbusPduExecution.Execute(this, device, scratch, requestLength, (Connection: this, Request: request),
            static (state, ex) => state.Connection.LogDeviceFailed(state.Request.Header, state.Request.Function, ex),
            static (state, block, answer) => state.Connection.WriteResponse(state.Request, block, block.AsSpan(ModbusPduExecution.ScratchHalf, answer)));
        if (length < 0)
        {
            // The pending request owns the block and the span now; the read loop goes on outside the span.
            McpdTracing.Detach(request.Span);
            scratch = ModbusPduExecution.RentScratch();
            return false;
        }

        return WriteResponse(request, scratch, response.Span[..length]);
    }

    private void LogDeviceFailed(MbapHeader header, byte function, Exception exception) =>
        ModbusLog.DeviceFailed(services.Logger, exception, Context.ConnectionId, header.UnitId, function);

    /// <summary>
    /// Writes the response ADU and ends the request's measurement and span; an empty PDU is a broadcast's (unit 0
    /// behind an RTU bus) or an ignored unit's, which has no answer. <paramref name="block"/> holds the request PDU,
    /// which the request log copies the head of while the dashboard watches (one volatile read otherwise).
    /// </summary>
    private bool WriteResponse(in RequestStart request, byte[] block, ReadOnlySpan<byte> pdu)
    {
        var answered = AnsweredTimestamp();
        services.Metrics.ModbusRequest(request.Function, pdu, request.Started, answered);
        if (services.RequestLog.IsWatched)
        {
            services.RequestLog.Record(Context.ConnectionId, Context.RemoteEndPoint, request.Header.UnitId, block.AsSpan(0, request.RequestLength), pdu, request.Started, answered);
        }

        request.Span?.Stop();
        if (pdu.IsEmpty)
        {
            return false;
        }

        ModbusTcpCodec.Encode(request.Header.TransactionId, request.Header.UnitId, pdu, Output);
        return true;
    }

    /// <summary>What the answer of a request needs to know about its start: header, function, PDU length, timestamp, span (or null).</summary>
    private readonly record struct RequestStart(MbapHeader Header, byte Function, int RequestLength, long Started, Activity? Span);
}
