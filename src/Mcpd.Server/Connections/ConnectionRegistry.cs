using System.Net;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Connections;

/// <summary>
/// Every live protocol connection, per listener: enforces the connection limits at admission and closes idle
/// connections (Kestrel has no idle timeout for non-HTTP connections, aspnetcore#16899).
/// </summary>
public sealed partial class ConnectionRegistry
{
    private readonly TimeProvider _time;
    private readonly McpdMetrics _metrics;
    private readonly ILogger<ConnectionRegistry> _logger;
    private readonly Lock _sync = new();

    /// <summary>Set (under <see cref="_sync"/>) when the host begins to stop: see <see cref="OnStopping"/>.</summary>
    private bool _stopping;
    /// <summary>Every live connection, by Kestrel's id: one index, no set per listener (each entry is memory an idle connection keeps).</summary>
    private readonly Dictionary<string, TrackedConnection> _byId = [];

    /// <summary>Live connections per listener; a listener without connections may have an entry of 0.</summary>
    private readonly Dictionary<string, int> _countByListener = [];

    /// <summary>Connections per listener and remote address; an address without connections has no entry.</summary>
    private readonly Dictionary<(string Listener, IPAddress Address), int> _byAddress = [];

    /// <summary>
    /// The log budget of what misbehaving peers cause: connections refused at a limit or closed for a newcomer, frames rejected (a broken
    /// MCP frame, an impossible MBAP length). A flood of them writes at most <see cref="LogThrottle.Limit"/> lines per
    /// <see cref="LogThrottle.Interval"/>, then one line with the count.
    /// </summary>
    public LogThrottle Rejections { get; }

    public ConnectionRegistry(TimeProvider time, McpdMetrics metrics, IHostApplicationLifetime lifetime, ILogger<ConnectionRegistry> logger)
    {
        ArgumentNullException.ThrowIfNull(lifetime);
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Rejections = new("refused connection or rejected frame", time, logger);
        lifetime.ApplicationStopping.UnsafeRegister(static registry => ((ConnectionRegistry)registry!).OnStopping(), this);
    }

    /// <summary>How many protocol connections the process's open-file limit leaves room for, all listeners together.</summary>
    public OpenFileLimit OpenFiles { get; } = OpenFileLimit.OfThisProcess();

    /// <summary>
    /// Admits <paramref name="connection"/> under <paramref name="limits"/>, or returns false when it is refused: its
    /// address already has <see cref="ConnectionLimits.MaxConnectionsPerAddress"/> connections, or the listener is full
    /// and its policy is <see cref="ConnectionLimitPolicy.Refuse"/> or finds no connection to close. With
    /// <see cref="ConnectionLimitPolicy.CloseOldestIdle"/> a full listener closes the connection least in use (see
    /// <see cref="EvictionCandidate"/>) to make room (Implementation Guide 4.2.1).
    /// </summary>
    public bool TryAdmit(TrackedConnection connection, ConnectionLimits limits)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var listener = connection.Listener;
        var address = connection.Address;
        TrackedConnection? evicted = null;
        bool stopping;
        lock (_sync)
        {
            var ofListener = _countByListener.GetValueOrDefault(listener);
            if (_byId.Count >= OpenFiles.MaxConnections)
            {
                // Refused while a descriptor is still there to accept with: at the limit itself nothing could be accepted any more.
                _metrics.ConnectionRefused(listener, "open_files");
                if (Rejections.ShouldLog())
                {
                    LogRefusedForOpenFiles(_logger, listener, connection.RemoteEndPoint, _byId.Count, OpenFiles.Limit, OpenFileLimit.Headroom + OpenFiles.OpenAtStart);
                }

                return false;
            }

            var fromAddress = address is null ? 0 : _byAddress.GetValueOrDefault((listener, address));
            if (limits.MaxConnectionsPerAddress > 0 && fromAddress >= limits.MaxConnectionsPerAddress)
            {
                _metrics.ConnectionRefused(listener, "per_address");
                if (Rejections.ShouldLog())
                {
                    LogRefusedForAddress(_logger, listener, connection.RemoteEndPoint, fromAddress, address!);
                }

                return false;
            }

            if (ofListener >= limits.MaxConnections)
            {
                evicted = limits.Policy == ConnectionLimitPolicy.CloseOldestIdle ? EvictionCandidate(listener, limits.ProtectAfterRequest) : null;
                if (evicted is null)
                {
                    _metrics.ConnectionRefused(listener, "limit");
                    if (Rejections.ShouldLog())
                    {
                        var reason = limits.Policy == ConnectionLimitPolicy.Refuse
                            ? "policy Refuse"
                            : $"policy CloseOldestIdle, and every connection completed a request within {limits.ProtectAfterRequest}";
                        LogRefused(_logger, listener, connection.RemoteEndPoint, limits.MaxConnections, reason);
                    }

                    return false;
                }

                Forget(evicted);
            }

            stopping = _stopping;
            _byId[connection.Id] = connection;
            _countByListener[listener] = _countByListener.GetValueOrDefault(listener) + 1;
            if (address is not null)
            {
                _byAddress[(listener, address)] = _byAddress.GetValueOrDefault((listener, address)) + 1;
            }
        }

        if (evicted is not null)
        {
            _metrics.ConnectionRefused(listener, "evicted");
            // A stream of newcomers evicts one connection each: these lines share the budget of what peers cause.
            if (Rejections.ShouldLog())
            {
                var use = evicted.CompletedRequest
                    ? $"last request {_time.GetElapsedTime(evicted.LastRequestTimestamp)} ago"
                    : $"no request since it connected {_time.GetElapsedTime(evicted.LastRequestTimestamp)} ago";
                LogEvicted(_logger, listener, evicted.Id, evicted.RemoteEndPoint, use, limits.MaxConnections);
            }

            evicted.Abort($"closed to admit a new connection at the limit of {limits.MaxConnections}");
        }

        if (stopping)
        {
            // Admitted after OnStopping took its snapshot (Kestrel accepts until it unbinds).
            connection.WakeOnCloseRequest();
        }

        return true;
    }

    /// <summary>
    /// The host begins to stop, before Kestrel asks its connections to close: from now on that request wakes each
    /// connection's read loop (<see cref="TrackedConnection.WakeOnCloseRequest"/>), for the connections open now and
    /// for those admitted later.
    /// </summary>
    private void OnStopping()
    {
        TrackedConnection[] open;
        lock (_sync)
        {
            _stopping = true;
            open = [.. _byId.Values];
        }

        foreach (var connection in open)
        {
            connection.WakeOnCloseRequest();
        }
    }

    /// <summary>Forgets a connection whose handler has returned.</summary>
    public void Remove(TrackedConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_sync)
        {
            if (_byId.GetValueOrDefault(connection.Id) == connection)
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
            return [.. _byId.Values.Where(c => c.Listener == listener)];
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
            return _countByListener.GetValueOrDefault(listener);
        }
    }

    /// <summary>Open connections on every listener.</summary>
    public int CountAll()
    {
        lock (_sync)
        {
            return _byId.Count;
        }
    }

    /// <summary>Closes every connection silent for longer than its idle timeout; returns how many.</summary>
    public int CloseIdle()
    {
        List<TrackedConnection> idle = [];
        lock (_sync)
        {
            idle.AddRange(_byId.Values.Where(c => c.IdleTimeout > TimeSpan.Zero && _time.GetElapsedTime(c.LastActivityTimestamp) > c.IdleTimeout));
        }

        foreach (var connection in idle)
        {
            LogIdleClosed(_logger, connection.Listener, connection.Id, connection.RemoteEndPoint, connection.IdleTimeout);
            if (connection.Listener is ListenerNames.Mcp or ListenerNames.McpCrc)
            {
                // An MCP connection's idle timeout is 3 heartbeat intervals: its silence is a heartbeat timeout.
                _metrics.HeartbeatTimedOut(connection.Listener);
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
    private TrackedConnection? EvictionCandidate(string listener, TimeSpan protectAfterRequest)
    {
        var now = _time.GetTimestamp();
        return _byId.Values
            .Where(c => c.Listener == listener && (!c.CompletedRequest || _time.GetElapsedTime(c.LastRequestTimestamp, now) >= protectAfterRequest))
            .MinBy(c => (c.CompletedRequest, c.LastRequestTimestamp));
    }

    /// <summary>Takes a tracked connection out of every index. Under <see cref="_sync"/>.</summary>
    private void Forget(TrackedConnection connection)
    {
        _byId.Remove(connection.Id);
        _countByListener[connection.Listener]--;
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
