using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Routing;

/// <summary>
/// <c>modbus.pdu</c> and <c>device:</c> routes (docs/protocol.md, "Built-in methods of mcpd"): the body is a request
/// PDU executed on a device exactly as over Modbus TCP, and the response PDU (exception PDUs included) is the body of
/// an OK response; an unknown unit answers exception 0x0B, a failing device exception 04. One implementation for both
/// paths: inline on the read loop (<see cref="Answer"/>, allocation-free while the device answers at once) and as a
/// handler for lanes and requests that name a session (<see cref="HandleAsync"/>).
/// </summary>
internal sealed class ModbusPduMethod(DeviceRegistry devices, ILogger<ModbusPduMethod> logger)
{
    public const string Name = "modbus.pdu";

    /// <summary>Header naming the device by its configured name, instead of <c>unit</c>.</summary>
    public const string DeviceHeader = "device";

    /// <summary>Why a body of <paramref name="length"/> bytes is no Modbus request PDU (1..253 bytes), or null.</summary>
    public static string? PduProblem(long length) => length switch
    {
        0 => "modbus.pdu needs a PDU in the body",
        > ModbusLimits.MaxPduLength => "the PDU is longer than 253 bytes",
        _ => null,
    };

    /// <summary>
    /// The device a request addresses: header <c>unit</c> (parsed without allocating when it is plain digits), or,
    /// without it, <c>device</c>; null with <paramref name="problem"/> when the headers are wrong, null alone for an unknown unit.
    /// </summary>
    public IModbusDevice? Resolve(in McpHeaders headers, out string? problem)
    {
        if (headers.TryFind("unit"u8, out var unitBytes) && unitBytes.Length is > 0 and <= 3)
        {
            Span<byte> digits = stackalloc byte[3];
            unitBytes.CopyTo(digits);
            digits = digits[..(int)unitBytes.Length];
            if (!digits.ContainsAnyExceptInRange((byte)'0', (byte)'9') && Utf8Parser.TryParse(digits, out byte unit, out _))
            {
                problem = null;
                return devices.Resolve(unit);
            }
        }

        return Resolve(headers[DeviceHeader], headers[McpHeaderNames.Unit], out problem);
    }

    /// <summary>
    /// Answers on the read loop of <paramref name="answerer"/>'s connection; returns false when the device answers
    /// later (the request then holds an in-flight slot and the scratch block).
    /// </summary>
    public bool Answer(in McpRequest request, IModbusDevice? device, string? problem, McpRequestAnswerer answerer, in McpRequestStart start)
    {
        problem ??= PduProblem(request.Body.Length);
        if (problem is not null)
        {
            answerer.AnswerError(start, request.Id, request.IsOneWay, McpStatus.BadRequest, problem, start.TraceIdOf(request));
            return true;
        }

        var scratch = ModbusPduExecution.RentScratch();
        request.Body.CopyTo(scratch);
        if (device is not null && answerer.Connection.Authorization is { } authorization
            && !authorization.AllowsModbus(devices.UnitOf(device), scratch.AsSpan(0, (int)request.Body.Length)))
        {
            // As over Modbus/TCP Security: exception 01 (ILLEGAL FUNCTION) for what the role may not do.
            WriteAnswer(answerer, start, request.Id, request.IsOneWay, scratch, ModbusResponsePdu.WriteException(scratch.AsSpan(ModbusPduExecution.ScratchHalf), scratch[0], ModbusExceptionCode.IllegalFunction));
            ModbusPduExecution.ReturnScratch(scratch);
            return true;
        }

        var length = device is null
            ? WriteUnknownUnit(scratch.AsSpan(ModbusPduExecution.ScratchHalf), scratch[0])
            : ModbusPduExecution.Execute(answerer.Connection, device, scratch, (int)request.Body.Length, (Method: this, Answerer: answerer, request.Id, request.IsOneWay, Start: start),
                static (state, ex) => state.Method.LogFailed(state.Answerer.Connection.Id, ex),
                static (state, block, answer) => WriteAnswer(state.Answerer, state.Start, state.Id, state.IsOneWay, block, answer));
        if (length < 0)
        {
            return false;
        }

        WriteAnswer(answerer, start, request.Id, request.IsOneWay, scratch, length);
        ModbusPduExecution.ReturnScratch(scratch);
        return true;
    }

    /// <summary><c>modbus.pdu</c> as a handler: the device from the request's headers.</summary>
    public async ValueTask<McpReply> HandleAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        var device = Resolve(request.Header(DeviceHeader), request.Header(McpHeaderNames.Unit), out var problem);
        return problem is null ? await ExecuteAsync(request, device, cancellationToken) : McpReply.Error(McpStatus.BadRequest, problem);
    }

    /// <summary>The body run on <paramref name="device"/> (null: an unknown unit, answered 0x0B), off the read loop.</summary>
    public async ValueTask<McpReply> ExecuteAsync(McpIncomingRequest request, IModbusDevice? device, CancellationToken cancellationToken)
    {
        if (PduProblem(request.Body.Length) is { } problem)
        {
            return McpReply.Error(McpStatus.BadRequest, problem);
        }

        var response = new byte[ModbusLimits.MaxPduLength];
        var function = request.Body.Span[0];
        var connection = IMcpConnectionFeature.Of(request);
        if (device is not null && McpConnection.AuthorizationOf(request) is { } authorization && !authorization.AllowsModbus(devices.UnitOf(device), request.Body.Span))
        {
            return McpReply.Ok(response.AsMemory(0, ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.IllegalFunction)));
        }

        int length;
        try
        {
            length = device is null
                ? WriteUnknownUnit(response, function)
                : await device.ExecuteAsync(request.Body, response, new ModbusCaller(connection?.Id ?? ""), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(connection?.Id ?? "", ex);
            length = ModbusPduExecution.WriteDeviceFailure(response, function);
        }

        return McpReply.Ok(response.AsMemory(0, length));
    }

    /// <summary>Header <c>unit</c> (0..255) as text, or, without it, <c>device</c> (a configured name).</summary>
    private IModbusDevice? Resolve(string? deviceName, string? unitText, out string? problem)
    {
        problem = null;
        if (unitText is null && deviceName is not null)
        {
            var named = devices.Resolve(deviceName);
            problem = named is null ? $"no device named '{deviceName}'" : null;
            return named;
        }

        if (!byte.TryParse(unitText, NumberStyles.None, CultureInfo.InvariantCulture, out var unit))
        {
            problem = unitText is null ? "modbus.pdu needs a 'unit' or 'device' header" : $"unit '{unitText}' is not 0..255";
            return null;
        }

        return devices.Resolve(unit);
    }

    private static int WriteUnknownUnit(Span<byte> response, byte function) =>
        ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond);

    private static void WriteAnswer(McpRequestAnswerer answerer, in McpRequestStart start, uint id, bool oneWay, byte[] scratch, int length) =>
        answerer.WriteAnswer(start, id, oneWay, McpStatus.Ok, new ReadOnlySequence<byte>(scratch, ModbusPduExecution.ScratchHalf, length));

    /// <summary>As over Modbus TCP, a device that fails is answered exception 04; the failure is logged here.</summary>
    private void LogFailed(string connectionId, Exception exception) => McpLog.MethodFailed(logger, exception, connectionId, Name);
}
