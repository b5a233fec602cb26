using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Log events of sessions and the cluster (event ids 650..699). Tokens are never logged, and session ids only by
/// their first characters (<see cref="SessionIds.Redact"/>).
/// </summary>
internal static partial class SessionLog
{
    public static void Opened(ILogger logger, string sessionId, string clientId, string connectionId, TimeSpan ttl)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogOpened(logger, redacted, clientId, connectionId, ttl);
        }
    }

    [LoggerMessage(EventId = 650, Level = LogLevel.Debug, Message = "Session {SessionId} opened by client {ClientId} on connection {ConnectionId}, TTL {Ttl}")]
    private static partial void LogOpened(ILogger logger, string sessionId, string clientId, string connectionId, TimeSpan ttl);

    public static void Resumed(ILogger logger, string sessionId, string connectionId)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogResumed(logger, redacted, connectionId);
        }
    }

    [LoggerMessage(EventId = 651, Level = LogLevel.Debug, Message = "Session {SessionId} resumed on connection {ConnectionId}")]
    private static partial void LogResumed(ILogger logger, string sessionId, string connectionId);

    [LoggerMessage(EventId = 652, Level = LogLevel.Warning, Message = "session.open by client {ClientId} refused: wrong or missing token (trace {TraceId})")]
    public static partial void Unauthorized(ILogger logger, string clientId, string traceId);

    [LoggerMessage(EventId = 653, Level = LogLevel.Warning, Message = "Session store ({Store}) unavailable, answered UNAVAILABLE (trace {TraceId}): {Reason}")]
    public static partial void StoreUnavailable(ILogger logger, string store, string traceId, string reason);

    [LoggerMessage(EventId = 654, Level = LogLevel.Information, Message = "Cluster node {NodeId} announces itself at {Address} every {Interval} ({Store} store)")]
    public static partial void NodeStarted(ILogger logger, string nodeId, string address, TimeSpan interval, string store);

    [LoggerMessage(EventId = 655, Level = LogLevel.Warning, Message = "Cluster node {NodeId} could not announce itself: {Reason}")]
    public static partial void AnnounceFailed(ILogger logger, string nodeId, string reason);

    [LoggerMessage(EventId = 670, Level = LogLevel.Warning, Message = "Cluster node {NodeId}: another incarnation ({Holder} at {Address}) holds this node id; waiting up to {Ttl} for its announcement to expire (a node restarted after it was killed), else this node refuses to start (two live nodes with one cluster.nodeId)")]
    public static partial void WaitingForNodeId(ILogger logger, string nodeId, string holder, string address, TimeSpan ttl);

    [LoggerMessage(EventId = 671, Level = LogLevel.Critical, Message = "Cluster node id {NodeId} is held by another live mcpd (incarnation {Holder} at {Address}), which keeps announcing itself: this node stops. Give every node its own cluster.nodeId")]
    public static partial void NodeIdTaken(ILogger logger, string nodeId, string holder, string address);

    public static void DeviceCallForwarded(ILogger logger, string targetSession, string method, string nodeId, string address, string traceId)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var redacted = SessionIds.Redact(targetSession);
            LogDeviceCallForwarded(logger, redacted, method, nodeId, address, traceId);
        }
    }

    [LoggerMessage(EventId = 656, Level = LogLevel.Debug, Message = "device.call to session {TargetSession} ({Method}) goes to node {NodeId} at {Address} (trace {TraceId})")]
    private static partial void LogDeviceCallForwarded(ILogger logger, string targetSession, string method, string nodeId, string address, string traceId);

    public static void NotOwner(ILogger logger, string method, string sessionId, string caller, string traceId)
    {
        if (logger.IsEnabled(LogLevel.Warning))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogNotOwner(logger, method, redacted, caller, traceId);
        }
    }

    [LoggerMessage(EventId = 658, Level = LogLevel.Warning, Message = "{Method} refused: session {SessionId} belongs to the client that opened it, and {Caller} did not prove to be that client (trace {TraceId})")]
    private static partial void LogNotOwner(ILogger logger, string method, string sessionId, string caller, string traceId);

    public static void Closed(ILogger logger, string sessionId)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogClosed(logger, redacted);
        }
    }

    [LoggerMessage(EventId = 657, Level = LogLevel.Debug, Message = "Session {SessionId} closed")]
    private static partial void LogClosed(ILogger logger, string sessionId);

    public static void TakenOver(ILogger logger, string sessionId, string connectionId, string told)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogTakenOver(logger, redacted, connectionId, told);
        }
    }

    [LoggerMessage(EventId = 672, Level = LogLevel.Information, Message = "Session {SessionId} was taken over by a newer connection: connection {ConnectionId} lost it ({Told})")]
    private static partial void LogTakenOver(ILogger logger, string sessionId, string connectionId, string told);

    public static void TellFailed(ILogger logger, string sessionId, string nodeId, string connectionId, string reason)
    {
        if (logger.IsEnabled(LogLevel.Warning))
        {
            var redacted = SessionIds.Redact(sessionId);
            LogTellFailed(logger, redacted, nodeId, connectionId, reason);
        }
    }

    [LoggerMessage(EventId = 673, Level = LogLevel.Warning, Message = "Session {SessionId} was taken over, and its previous connection {ConnectionId} on node {NodeId} could not be told: {Reason}; the store refuses that connection's use of the session all the same")]
    private static partial void LogTellFailed(ILogger logger, string sessionId, string nodeId, string connectionId, string reason);
}
