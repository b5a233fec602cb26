using System.Net;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Connections;

/// <summary>
/// Every live protocol connection, per listener: enforces the connection limits at admission and closes idle
/// connections (Kestrel has no idle timeout for non-HTTP connections, aspnetcore#16899).
/// </summary>
public sealed partial class ConnectionRegistry(TimeProvider time, McpdMetrics metrics, ILogger<ConnectionRegistry> logger)
{
    /// <summary>How many protocol connections the process's open-file limit leaves room for, all listeners together.</summary>
    public OpenFileLimit OpenFiles { get; } = OpenFileLimit.OfThisProcess();

    private readonly Lock _sync = new();
    private readonly Dictionary<string, HashSet<TrackedConnection>> _byListener = [];
    private readonly Dictionary<string, TrackedConnection> _byId = [];

    /// <summary>Connections per listener and remote address; an address without connections has no entry.</summary>
    private readonly Dictionary<(string Listener, IPAddress Address), int> _byAddress = [];

    /// <summary>
    /// The log budget of what misbehaving peers cause: connections refused at a limit or closed for a newcomer, frames rejected (a broken
    /// MCP frame, an impossible MBAP length). A flood of them writes at most <see cref="LogThrottle.Limit"/> lines per
    /// <see cref="LogThrottle.Interval"/>, then one line with the count.
    /// </summary>
    public LogThrottle Rejections { get; } = new("refused connection or rejected frame", time, logger);

    /// <summary>
    /// Admits <paramref name="context"/> under <paramref name="limits"/>, or returns null when it is refused: its
    /// address already has <see cref="ConnectionLimits.MaxConnectionsPerAddress"/> connections, or the listener is full
    /// and its policy is <see cref="ConnectionLimitPolicy.Refuse"/> or finds no connection to close. With
    /// <see cref="ConnectionLimitPolicy.CloseOldestIdle"/> a full listener closes the connection least in use (see
    /// <see cref="EvictionCandidate"/>) to make room (Implementation Guide 4.2.1).
    /// </summary>
    public TrackedConnection? TryAdmit(ConnectionContext context, string listener, ConnectionLimits limits)
    {
        ArgumentNullException.ThrowIfNull(context);
        var address = RemoteAddress.Of(context.RemoteEndPoint);
        TrackedConnection? evicted = null;
        TrackedConnection admitted;
        lock (_sync)
        {
            if (!_byListener.TryGetValue(listener, out var connections))
            {
                _byListener[listener] = connections = [];
            }

            if (_byId.Count >= OpenFiles.MaxConnections)
            {
                // Refused while a descriptor is still there to accept with: at the limit itself nothing could be accepted any more.
                metrics.ConnectionRefused(listener, "open_files");
                if (Rejections.ShouldLog())
                {
                    LogRefusedForOpenFiles(logger, listener, context.RemoteEndPoint, _byId.Count, OpenFiles.Limit, OpenFileLimit.Headroom + OpenFiles.OpenAtStart);
                }

                return null;
            }

            var fromAddress = address is null ? 0 : _byAddress.GetValueOrDefault((listener, address));
            if (limits.MaxConnectionsPerAddress > 0 && fromAddress >= limits.MaxConnectionsPerAddress)
            {
                metrics.ConnectionRefused(listener, "per_address");
                if (Rejections.ShouldLog())
                {
                    LogRefusedForAddress(logger, listener, context.RemoteEndPoint, fromAddress, address!);
                }

                return null;
            }

            if (connections.Count >= limits.MaxConnections)
            {
                evicted = limits.Policy == ConnectionLimitPolicy.CloseOldestIdle ? EvictionCandidate(connections, limits.ProtectAfterRequest) : null;
                if (evicted is null)
                {
                    metrics.ConnectionRefused(listener, "limit");
                    if (Rejections.ShouldLog())
                    {
                        var reason = limits.Policy == ConnectionLimitPolicy.Refuse
                            ? "policy Refuse"
                            : $"policy CloseOldestIdle, and every connection completed a request within {limits.ProtectAfterRequest}";
                        LogRefused(logger, listener, context.RemoteEndPoint, limits.MaxConnections, reason);
                    }

                    return null;
                }

                Forget(evicted);
            }

            admitted = new TrackedConnection(context, listener, address, limits.IdleTimeout, time);
            connections.Add(admitted);
            _byId[admitted.Id] = admitted;
            if (address is not null)
            {
                _byAddress[(listener, address)] = _byAddress.GetValueOrDefault((listener, address)) + 1;
            }
        }

        if (evicted is not null)
        {
            metrics.ConnectionRefused(listener, "evicted");
            // A stream of newcomers evicts one connection each: these lines share the budget of what peers cause.
            if (Rejections.ShouldLog())
            {
                var use = evicted.CompletedRequest
                    ? $"last request {time.GetElapsedTime(evicted.LastRequestTimestamp)} ago"
                    : $"no request since it connected {time.GetElapsedTime(evicted.LastRequestTimestamp)} ago";
                LogEvicted(logger, listener, evicted.Id, evicted.RemoteEndPoint, use, limits.MaxConnections);
            }

            evicted.Abort($"closed to admit a new connection at the limit of {limits.MaxConnections}");
        }

        return admitted;
    }

    /// <summary>Forgets a connection whose handler has returned.</summary>
    public void Remove(TrackedConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_sync)
        {
            if (_byListener[connection.Listener].Contains(connection))
            {
                Forget(connection);
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

    /// <summary>
    /// The connection to close for a newcomer at the limit, least in use first: of those that completed no request
    /// within <paramref name="protectAfterRequest"/>, one that never completed a request (the longest connected), else
    /// the one whose last request is oldest; null when every connection completed one that recently. Only complete
    /// requests count (a frame that is no request, or bytes of a request that never completes, keep nobody in), so a
    /// peer cannot make a polling client look idler than itself. Under <see cref="_sync"/>.
    /// </summary>
    private TrackedConnection? EvictionCandidate(HashSet<TrackedConnection> connections, TimeSpan protectAfterRequest)
    {
        var now = time.GetTimestamp();
        return connections
            .Where(c => !c.CompletedRequest || time.GetElapsedTime(c.LastRequestTimestamp, now) >= protectAfterRequest)
            .MinBy(c => (c.CompletedRequest, c.LastRequestTimestamp));
    }

    /// <summary>Takes a tracked connection out of every index. Under <see cref="_sync"/>.</summary>
    private void Forget(TrackedConnection connection)
    {
        _byListener[connection.Listener].Remove(connection);
        _byId.Remove(connection.Id);
        if (connection.Address is { } address)
        {
            var key = (connection.Listener, address);
            if (_byAddress[key] == 1)
            {
                _byAddress.Remove(key);
            }
            else
            {
                _byAddress[key]--;
            }
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "{Listener}: refused a connection from {RemoteEndPoint}: at the limit of {MaxConnections} connections ({Reason})")]
    private static partial void LogRefused(ILogger logger, string listener, EndPoint? remoteEndPoint, int maxConnections, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "{Listener}: closed the oldest idle connection {ConnectionId} from {RemoteEndPoint} ({Use}) to admit a new one at the limit of {MaxConnections}")]
    private static partial void LogEvicted(ILogger logger, string listener, string connectionId, EndPoint? remoteEndPoint, string use, int maxConnections);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "{Listener}: refused a connection from {RemoteEndPoint}: {Count} connections from {Address}, the most per address (maxConnectionsPerAddress)")]
    private static partial void LogRefusedForAddress(ILogger logger, string listener, EndPoint? remoteEndPoint, int count, IPAddress address);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "{Listener}: refused a connection from {RemoteEndPoint}: {Open} connections are open, the most the open-file limit of {Limit} leaves room for ({Kept} descriptors kept for the runtime, the admin API, upstreams and files); raise LimitNOFILE (ulimit -n)")]
    private static partial void LogRefusedForOpenFiles(ILogger logger, string listener, EndPoint? remoteEndPoint, int open, long? limit, int kept);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{Listener}: closed connection {ConnectionId} from {RemoteEndPoint}: idle for more than {IdleTimeout}")]
    private static partial void LogIdleClosed(ILogger logger, string listener, string connectionId, EndPoint? remoteEndPoint, TimeSpan idleTimeout);
}
