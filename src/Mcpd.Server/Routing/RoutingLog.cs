using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Routing;

/// <summary>Log events of routing and lanes (event ids 600..649; 604 belongs to forward nodes, <c>ForwardLog</c>).</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Routing: {Rules} rule(s), default {Default}, lanes {Lanes}, nodes {Nodes}")]
    public static partial void TableLoaded(ILogger logger, int rules, string @default, string lanes, string nodes);

    [LoggerMessage(EventId = 601, Level = LogLevel.Error, Message = "Routing: the changed configuration was rejected, the running routes stay: {Problems}")]
    public static partial void ReloadRejected(ILogger logger, string problems);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Lane {Lane} is full ({Capacity} waiting): answered OVERLOADED to {Method} (trace {TraceId}); {Rejected} refused since start (at most one such line per second)")]
    public static partial void LaneFull(ILogger logger, string lane, int capacity, string method, string traceId, long rejected);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Lane {Lane} stopped with {Count} request(s) still waiting; answered SHUTTING_DOWN")]
    public static partial void LaneAbandoned(ILogger logger, string lane, int count);

    [LoggerMessage(EventId = 605, Level = LogLevel.Warning, Message = "One-way {Method} in lane {Lane} ended {Status} (trace {TraceId}); it was acknowledged when queued")]
    public static partial void OneWayFailed(ILogger logger, string method, string lane, Mcpd.Protocols.Mcp.McpStatus status, string traceId);
}
