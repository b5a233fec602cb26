using System.Globalization;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Mcpd.Server.Sessions;

namespace Mcpd.Server.Routing;

/// <summary>
/// mcpd's own methods (docs/protocol.md, "Built-in methods"). Unrouted, the connection answers them inline without
/// allocating; routed to a lane, they run as these handlers.
/// </summary>
internal sealed class BuiltInMethods(DeviceRegistry devices, McpServerInfo info, SessionService sessions, McpMethodTable methods, TimeProvider time, Microsoft.Extensions.Logging.ILogger<BuiltInMethods> logger)
{
    public const string Echo = "sys.echo";
    public const string Info = "sys.info";
    public const string ModbusPdu = "modbus.pdu";

    /// <summary>Answers OK after the header <c>delay-ms</c> (0..10000) milliseconds, with the body: for client timeouts and lane tests, as Redis' DEBUG SLEEP.</summary>
    public const string Delay = "sys.delay";

    private const int MaxDelayMilliseconds = 10_000;

    /// <summary>Header naming the device of <c>modbus.pdu</c> by its configured name, instead of <c>unit</c>.</summary>
    public const string DeviceHeader = "device";

    public static bool IsBuiltIn(ReadOnlySpan<char> method) =>
        method is Echo or Info or ModbusPdu or Delay or SessionService.Open or SessionService.Resume or SessionService.Close
            or SessionService.Get or SessionService.Set or SessionService.DeviceCall;

    /// <summary>The handler of a built-in or mapped method, or null.</summary>
    public McpRequestHandler? HandlerOf(ReadOnlySpan<char> method) => method switch
    {
        Echo => static (request, _) => ValueTask.FromResult(McpReply.Ok(request.Body)),
        Info => (_, _) => ValueTask.FromResult(McpReply.Ok(info.ToJson(time.GetUtcNow()))),
        ModbusPdu => ExecuteModbusAsync,
        Delay => DelayAsync,
        _ => sessions.HandlerOf(method) ?? (methods.TryGet(method, out var mapped) ? mapped : null),
    };

    /// <summary>The target of a method this node serves (built in or mapped), or null.</summary>
    public RouteTarget? TargetOf(ReadOnlySpan<char> method) => HandlerOf(method) is { } handler ? new HandlerTarget(handler) : null;

    private async ValueTask<McpReply> DelayAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        if (!int.TryParse(request.Header("delay-ms"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            || milliseconds > MaxDelayMilliseconds)
        {
            return McpReply.Error(McpStatus.BadRequest, $"sys.delay needs a 'delay-ms' header of 0..{MaxDelayMilliseconds}");
        }

        await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), time, cancellationToken);
        return McpReply.Ok(request.Body);
    }

    /// <summary>
    /// The device a <c>modbus.pdu</c> request addresses: header <c>unit</c> (0..255), or, without it, <c>device</c> (a
    /// configured name); else a problem for a BAD_REQUEST. The connection's inline path decides the same way.
    /// </summary>
    public IModbusDevice? Resolve(string? deviceName, string? unitText, out string? problem)
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

    private async ValueTask<McpReply> ExecuteModbusAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        var device = Resolve(request.Header(DeviceHeader), request.Header(McpHeaderNames.Unit), out var problem);
        return problem is null ? await ExecuteModbusAsync(request, device, cancellationToken) : McpReply.Error(McpStatus.BadRequest, problem);
    }

    /// <summary>Why a body of <paramref name="length"/> bytes is no Modbus request PDU (1..253 bytes), or null.</summary>
    public static string? PduProblem(long length) => length switch
    {
        0 => "modbus.pdu needs a PDU in the body",
        > ModbusLimits.MaxPduLength => "the PDU is longer than 253 bytes",
        _ => null,
    };

    /// <summary>The body is a Modbus request PDU, run on <paramref name="device"/> (null: an unknown unit, answered 0x0B).</summary>
    public async ValueTask<McpReply> ExecuteModbusAsync(McpIncomingRequest request, IModbusDevice? device, CancellationToken cancellationToken)
    {
        if (PduProblem(request.Body.Length) is { } problem)
        {
            return McpReply.Error(McpStatus.BadRequest, problem);
        }

        var response = new byte[ModbusLimits.MaxPduLength];
        var function = request.Body.Span[0];
        int length;
        try
        {
            length = device is null
                ? ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.GatewayTargetDeviceFailedToRespond)
                : await device.ExecuteAsync(request.Body, response, new ModbusCaller(request.Peer is McpConnection connection ? connection.Id : ""), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // As over Modbus TCP: a device that fails answers exception 04 (Application Protocol 7).
            McpLog.MethodFailed(logger, ex, request.Peer is McpConnection failed ? failed.Id : "", ModbusPdu);
            length = ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.ServerDeviceFailure);
        }

        return McpReply.Ok(response.AsMemory(0, length));
    }
}
