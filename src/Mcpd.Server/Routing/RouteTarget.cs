using Mcpd.Server.Devices;

namespace Mcpd.Server.Routing;

/// <summary>Where a routing rule sends a request.</summary>
internal abstract class RouteTarget;

/// <summary><c>lane:NAME</c>: the lane's queue, then a worker runs the method's handler.</summary>
internal sealed class LaneTarget(McpLane lane) : RouteTarget
{
    public McpLane Lane { get; } = lane;
}

/// <summary><c>device:NAME</c>: the body is a Modbus PDU executed on that device (as <c>modbus.pdu</c>).</summary>
internal sealed class DeviceTarget(IModbusDevice device) : RouteTarget
{
    public IModbusDevice Device { get; } = device;
}

/// <summary>A method of this node, built in or mapped in code: its handler runs on the connection.</summary>
internal sealed class HandlerTarget(Mcpd.Client.Mcp.McpRequestHandler handler) : RouteTarget
{
    public Mcpd.Client.Mcp.McpRequestHandler Handler { get; } = handler;
}

/// <summary><c>forward:NODE</c>: the request goes to another mcpd node, and its answer back to the caller.</summary>
internal sealed class ForwardTarget(ForwardNode node) : RouteTarget
{
    public ForwardNode Node { get; } = node;
}
