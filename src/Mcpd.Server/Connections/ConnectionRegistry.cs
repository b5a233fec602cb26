using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Connections;

/// <summary>
/// Every live protocol connection, per listener: enforces the connection limit at admission and closes idle
/// connections (Kestrel has no idle timeout for non-HTTP connections, aspnetcore#16899).
/// </summary>
public sealed partial class ConnectionRegistry(TimeProvider time, McpdMetrics metrics, ILogger<ConnectionRegistry> logger)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<string, HashSet<TrackedConnection>> _byListener = [];
    private readonly Dictionary<string, TrackedConnection> _byId = [];

    /// <summary>
    /// The log budget of what misbehaving peers cause: connections refused at the limit, frames rejected (a broken
    /// MCP frame, an impossible MBAP length). A flood of them writes at most <see cref="LogThrottle.Limit"/> lines per
    /// <see cref="LogThrottle.Interval"/>, then one line with the count.
    /// </summary>
    public LogThrottle Rejections { get; } = new("refused connection or rejected frame", time, logger);

    /// <summary>
    /// Admits <paramref name="context"/> under the limit, or returns null when <see cref="ConnectionLimitPolicy.Refuse"/>
    /// turns it away. With <see cref="ConnectionLimitPolicy.CloseOldestIdle"/> the connection silent for the longest
    /// time is closed to make room (Implementation Guide 4.2.1).
    /// </summary>
    public TrackedConnection? TryAdmit(ConnectionContext context, string listener, int maxConnections, ConnectionLimitPolicy policy, TimeSpan idleTimeout)
    {
        ArgumentNullException.ThrowIfNull(context);
        TrackedConnection? evicted = null;
        TrackedConnection admitted;
        lock (_sync)
        {
            if (!_byListener.TryGetValue(listener, out var connections))
            {
                _byListener[listener] = connections = [];
            }

            if (connections.Count >= maxConnections)
            {
                if (policy == ConnectionLimitPolicy.Refuse || connections.Count == 0)
                {
                    if (Rejections.ShouldLog())
                    {
                        LogRefused(logger, listener, context.RemoteEndPoint, maxConnections);
                    }

                    return null;
                }

                evicted = connections.MinBy(c => c.LastActivityTimestamp)!;
                connections.Remove(evicted);
                _byId.Remove(evicted.Id);
            }

            admitted = new TrackedConnection(context, listener, idleTimeout, time);
            connections.Add(admitted);
            _byId[admitted.Id] = admitted;
        }

        if (evicted is not null)
        {
            LogEvicted(logger, listener, evicted.Id, evicted.RemoteEndPoint, maxConnections);
            evicted.Abort($"closed to admit a new connection at the limit of {maxConnections}");
        }

        return admitted;
    }

    /// <summary>Forgets a connection whose handler has returned.</summary>
    public void Remove(TrackedConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_sync)
        {
            if (_byListener[connection.Listener].Remove(connection))
            {
                _byId.Remove(connection.Id);
            }
        }
    }

    /// <summary>The live connections of <paramref name="listener"/>, at this moment.</summary>
    public IReadOnlyList<TrackedConnection> Snapshot(string listener)
    {
        lock (_sync)
        {
            return _byListener.TryGetValue(listener, out var connections) ? [.. connections] : [];
        }
    }

    /// <summary>The live connection with Kestrel's id <paramref name="connectionId"/>, or null.</summary>
    public TrackedConnection? Find(string connectionId)
    {
        lock (_sync)
        {
            return _byId.GetValueOrDefault(connectionId);
        }
    }

    /// <summary>Live connections of <paramref name="listener"/>.</summary>
    public int Count(string listener)
    {
        lock (_sync)
        {
            return _byListener.TryGetValue(listener, out var connections) ? connections.Count : 0;
        }
    }

    /// <summary>Open connections on every listener.</summary>
    public int CountAll()
    {
        lock (_sync)
        {
            return _byListener.Values.Sum(connections => connections.Count);
        }
    }

    /// <summary>Closes every connection silent for longer than its idle timeout; returns how many.</summary>
    public int CloseIdle()
    {
        List<TrackedConnection> idle = [];
        lock (_sync)
        {
            foreach (var connections in _byListener.Values)
            {
                idle.AddRange(connections.Where(c => c.IdleTimeout > TimeSpan.Zero && time.GetElapsedTime(c.LastActivityTimestamp) > c.IdleTimeout));
            }
        }

        foreach (var connection in idle)
        {
            LogIdleClosed(logger, connection.Listener, connection.Id, connection.RemoteEndPoint, connection.IdleTimeout);
            if (connection.Listener is ListenerNames.Mcp or ListenerNames.McpCrc)
            {
                // An MCP connection's idle timeout is 3 heartbeat intervals: its silence is a heartbeat timeout.
                metrics.HeartbeatTimedOut(connection.Listener);
            }

            connection.Abort($"idle for more than {connection.IdleTimeout}");
        }

        return idle.Count;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "{Listener}: refused a connection from {RemoteEndPoint}: at the limit of {MaxConnections} connections (policy Refuse)")]
    private static partial void LogRefused(ILogger logger, string listener, System.Net.EndPoint? remoteEndPoint, int maxConnections);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "{Listener}: closed the oldest idle connection {ConnectionId} from {RemoteEndPoint} to admit a new one at the limit of {MaxConnections}")]
    private static partial void LogEvicted(ILogger logger, string listener, string connectionId, System.Net.EndPoint? remoteEndPoint, int maxConnections);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{Listener}: closed connection {ConnectionId} from {RemoteEndPoint}: idle for more than {IdleTimeout}")]
    private static partial void LogIdleClosed(ILogger logger, string listener, string connectionId, System.Net.EndPoint? remoteEndPoint, TimeSpan idleTimeout);
}
