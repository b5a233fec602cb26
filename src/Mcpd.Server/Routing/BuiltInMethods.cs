using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Mcp;
using Mcpd.Server.Sessions;

namespace Mcpd.Server.Routing;

/// <summary>
/// mcpd's own methods (docs/protocol.md, "Built-in methods of mcpd"). Unrouted, <see cref="McpDispatcher"/> answers
/// them inline without allocating; routed to a lane, they run as these handlers.
/// </summary>
internal sealed class BuiltInMethods(ModbusPduMethod modbusPdu, McpServerInfo info, SessionService sessions, McpMethodTable methods, TimeProvider time)
{
    public const string Echo = "sys.echo";
    public const string Info = "sys.info";
    public const string ModbusPdu = ModbusPduMethod.Name;

    /// <summary>Answers OK after the header <c>delay-ms</c> (0..10000) milliseconds, with the body: for client timeouts and lane tests, as Redis' DEBUG SLEEP.</summary>
    public const string Delay = "sys.delay";

    private const int MaxDelayMilliseconds = 10_000;

    /// <summary>The one implementation of <c>modbus.pdu</c>, for the inline path and <c>device:</c> routes.</summary>
    public ModbusPduMethod ModbusPduMethod => modbusPdu;

    public static bool IsBuiltIn(ReadOnlySpan<char> method) =>
        method is Echo or Info or ModbusPdu or Delay or SessionService.Open or SessionService.Resume or SessionService.Close
            or SessionService.Get or SessionService.Set or SessionService.DeviceCall;

    /// <summary>The handler of a built-in or mapped method, or null.</summary>
    public McpRequestHandler? HandlerOf(ReadOnlySpan<char> method) => method switch
    {
        Echo => static (request, _) => ValueTask.FromResult(McpReply.Ok(request.Body)),
        Info => (_, _) => ValueTask.FromResult(McpReply.Ok(info.ToJson(time.GetUtcNow()))),
        ModbusPdu => modbusPdu.HandleAsync,
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
}
