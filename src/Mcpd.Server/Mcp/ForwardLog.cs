using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>Log events of forward nodes: event 604, of the routing range 600..649 (an id never changes meaning).</summary>
internal static partial class ForwardLog
{
    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Forwarding {Method} to node {Node} failed (trace {TraceId}): {Reason}")]
    public static partial void ForwardFailed(ILogger logger, string method, string node, string traceId, string reason);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "Node {Node}: {Change}")]
    public static partial void CircuitChanged(ILogger logger, string node, string change);
}
