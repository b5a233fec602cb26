using System.Diagnostics;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Routing;

/// <summary>Where a request goes (docs/routing.md): a routing rule's target, the default, or a method of this node.</summary>
internal abstract class RouteTarget
{
    /// <summary>
    /// Runs <paramref name="request"/> here and returns its reply; null when <paramref name="cancellationToken"/>
    /// (the connection's end) stopped it and nobody is left to answer. A target answers its own failures.
    /// </summary>
    public abstract ValueTask<McpReply?> InvokeAsync(McpIncomingRequest request, BuiltInMethods methods, ILogger logger, CancellationToken cancellationToken);

    /// <summary>
    /// Answers <paramref name="request"/> on the read loop before anything of it is copied, when this target can:
    /// true when it did, with <paramref name="answeredNow"/> false if the answer leaves later (an in-flight slot is
    /// held). False: the request goes on to <see cref="InvokeAsync"/>. Not for requests that name a session.
    /// </summary>
    public virtual bool TryAnswerUncopied(in McpRequest request, ReadOnlySpan<char> method, in McpRequestStart start, McpRequestAnswerer answerer, BuiltInMethods methods, out bool answeredNow)
    {
        answeredNow = false;
        return false;
    }
}

/// <summary><c>lane:NAME</c>: the lane's queue, then a worker runs the method's handler.</summary>
internal sealed class LaneTarget(McpLane lane) : RouteTarget
{
    public McpLane Lane { get; } = lane;

    /// <summary>A full lane refuses at once, before anything is copied: a flood's cost must not grow with the flood.</summary>
    public override bool TryAnswerUncopied(in McpRequest request, ReadOnlySpan<char> method, in McpRequestStart start, McpRequestAnswerer answerer, BuiltInMethods methods, out bool answeredNow)
    {
        answeredNow = Lane.IsFull;
        if (answeredNow)
        {
            Lane.CountRejected(method, start.Span?.TraceId.ToHexString());
            answerer.AnswerError(start, request.Id, request.IsOneWay, McpStatus.Overloaded, Lane.FullMessage, start.TraceIdOf(request));
        }

        return answeredNow;
    }

    public override async ValueTask<McpReply?> InvokeAsync(McpIncomingRequest request, BuiltInMethods methods, ILogger logger, CancellationToken cancellationToken)
    {
        // The lane's span covers the wait in the queue and the run by a worker.
        using var laneSpan = McpdTracing.StartStep("mcpd.lane", ActivityKind.Internal, "mcpd.lane", Lane.Name);
        return methods.HandlerOf(request.Method) is { } handler
            ? await Lane.SubmitAsync(request, handler, cancellationToken)
            : McpReply.Error(McpStatus.NotFound, $"no method '{request.Method}' for lane {Lane.Name}");
    }

    public override string ToString() => $"{RouteTargetText.Lane}:{Lane.Name}";
}

/// <summary><c>device:NAME</c>: the body is a Modbus PDU executed on that device (as <c>modbus.pdu</c>).</summary>
internal sealed class DeviceTarget(IModbusDevice device) : RouteTarget
{
    public IModbusDevice Device { get; } = device;

    /// <summary>The PDU runs on the device straight from the request, as on the allocation-free <c>modbus.pdu</c> path.</summary>
    public override bool TryAnswerUncopied(in McpRequest request, ReadOnlySpan<char> method, in McpRequestStart start, McpRequestAnswerer answerer, BuiltInMethods methods, out bool answeredNow)
    {
        answeredNow = methods.ModbusPduMethod.Answer(request, Device, null, answerer, start);
        return true;
    }

    public override async ValueTask<McpReply?> InvokeAsync(McpIncomingRequest request, BuiltInMethods methods, ILogger logger, CancellationToken cancellationToken) =>
        await methods.ModbusPduMethod.ExecuteAsync(request, Device, cancellationToken);

    public override string ToString() => "a device";
}

/// <summary>A method of this node, built in or mapped in code: its handler runs on the connection.</summary>
internal sealed class HandlerTarget(McpRequestHandler handler) : RouteTarget
{
    public override ValueTask<McpReply?> InvokeAsync(McpIncomingRequest request, BuiltInMethods methods, ILogger logger, CancellationToken cancellationToken) =>
        HandlerInvoker.InvokeAsync(handler, request, logger, cancellationToken);

    public override string ToString() => "its handler";
}

/// <summary><c>forward:NODE</c>: the request goes to another mcpd node, and its answer back to the caller.</summary>
internal sealed class ForwardTarget(ForwardNode node) : RouteTarget
{
    public ForwardNode Node { get; } = node;

    public override async ValueTask<McpReply?> InvokeAsync(McpIncomingRequest request, BuiltInMethods methods, ILogger logger, CancellationToken cancellationToken) =>
        await Node.SendAsync(request, cancellationToken);

    public override string ToString() => $"{RouteTargetText.Forward}:{Node.Name}";
}
