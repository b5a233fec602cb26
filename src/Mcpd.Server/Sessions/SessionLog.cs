using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Sessions;

/// <summary>Log events of sessions and the cluster (event ids 650..699). Tokens are never logged.</summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 650, Level = LogLevel.Debug, Message = "Session {SessionId} opened by client {ClientId} on connection {ConnectionId}, TTL {Ttl}")]
    public static partial void Opened(ILogger logger, string sessionId, string clientId, string connectionId, TimeSpan ttl);

    [LoggerMessage(EventId = 651, Level = LogLevel.Debug, Message = "Session {SessionId} resumed on connection {ConnectionId}")]
    public static partial void Resumed(ILogger logger, string sessionId, string connectionId);

    [LoggerMessage(EventId = 652, Level = LogLevel.Warning, Message = "session.open by client {ClientId} refused: wrong or missing token (trace {TraceId})")]
    public static partial void Unauthorized(ILogger logger, string clientId, string traceId);

    [LoggerMessage(EventId = 653, Level = LogLevel.Warning, Message = "Session store ({Store}) unavailable, answered UNAVAILABLE (trace {TraceId}): {Reason}")]
    public static partial void StoreUnavailable(ILogger logger, string store, string traceId, string reason);

    [LoggerMessage(EventId = 654, Level = LogLevel.Information, Message = "Cluster node {NodeId} announces itself at {Address} every {Interval} ({Store} store)")]
    public static partial void NodeStarted(ILogger logger, string nodeId, string address, TimeSpan interval, string store);

    [LoggerMessage(EventId = 655, Level = LogLevel.Warning, Message = "Cluster node {NodeId} could not announce itself: {Reason}")]
    public static partial void AnnounceFailed(ILogger logger, string nodeId, string reason);

    [LoggerMessage(EventId = 656, Level = LogLevel.Debug, Message = "device.call to session {TargetSession} ({Method}) goes to node {NodeId} at {Address} (trace {TraceId})")]
    public static partial void DeviceCallForwarded(ILogger logger, string targetSession, string method, string nodeId, string address, string traceId);

    [LoggerMessage(EventId = 657, Level = LogLevel.Debug, Message = "Session {SessionId} closed")]
    public static partial void Closed(ILogger logger, string sessionId);
}
