using Mcpd.Client;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>
/// The connections of a TCP upstream (docs/gateway.md, "Connection pool"). Every request takes a slot: a place on a
/// connection with fewer than <see cref="TcpUpstreamOptions.MaxInFlightPerConnection"/> requests in flight, the
/// least loaded one, or a new connection while the pool has room. Invariant: the slots are maxConnections x
/// maxInFlightPerConnection and retired connections do not count against maxConnections, so a slot holder always
/// finds a connection with room or room for a new one. Once a second, connections past maxLifetime retire, idle
/// ones close down to minIdle, and minIdle connections are opened. When no connection can be opened the pool is
/// Down and reconnects in the background with backoff and jitter.
/// </summary>
/// <typeparam name="TConnection">One connection to the device.</typeparam>
internal sealed class UpstreamConnectionPool<TConnection> : IAsyncDisposable
    where TConnection : class, IAsyncDisposable
{
    private readonly string _upstream;
    private readonly string _address;
    private readonly TcpUpstreamOptions _options;
    private readonly IUpstreamConnector<TConnection> _connector;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<string> _reachabilityChanged;
    private readonly ReconnectPolicy _reconnect;
    private readonly Lock _sync = new();
    private readonly List<PooledConnection<TConnection>> _connections = [];
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _closing = new();
    private readonly List<Task> _background = [];
    private int _waiting;
    private int _nextConnectionId;

    /// <summary>The connection last taken, and in which <see cref="FlushBatch.CurrentPass"/> (under the lock).</summary>
    private PooledConnection<TConnection>? _passConnection;
    private long _pass;
    private volatile bool _down;

    /// <param name="upstream">The upstream's name, for the logs.</param>
    /// <param name="address">The device's address, for the logs.</param>
    /// <param name="options">Sizes, timeouts and reconnect backoff.</param>
    /// <param name="connector">Opens the connections.</param>
    /// <param name="time">The clock of timeouts, lifetimes and backoff.</param>
    /// <param name="logger">Where the pool's events (622..625, 627) go.</param>
    /// <param name="reachabilityChanged">Called with the reason when the pool goes Down or comes back.</param>
    public UpstreamConnectionPool(string upstream, string address, TcpUpstreamOptions options, IUpstreamConnector<TConnection> connector, TimeProvider time, ILogger logger, Action<string> reachabilityChanged)
    {
        _upstream = upstream;
        _address = address;
        _options = options;
        _connector = connector;
        _time = time;
        _logger = logger;
        _reachabilityChanged = reachabilityChanged;
        _reconnect = new ReconnectPolicy(options.Reconnect.BaseDelay, 2, options.Reconnect.MaxDelay, int.MaxValue);
        _slots = new SemaphoreSlim(options.MaxConnections * options.MaxInFlightPerConnection);
        Closing = _closing.Token;
    }

    /// <summary>No connection could be opened: requests fail fast while the pool reconnects.</summary>
    public bool IsDown => _down;

    /// <summary>Cancelled when the pool starts closing.</summary>
    public CancellationToken Closing { get; }

    /// <summary>Connections in the pool (connecting, open, retiring).</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Starts the maintenance: lifetimes, idle connections, minIdle.</summary>
    public void Start()
    {
        lock (_sync)
        {
            _background.Add(MaintainAsync());
        }
    }

    /// <summary>
    /// A slot on an open connection for one request (hand it back with <see cref="Return"/>), or why there is none.
    /// When the connection opened for this request fails while others are open (a device may take only one), the
    /// request goes on one of those with room.
    /// </summary>
    public ValueTask<PoolLease<TConnection>> RentAsync(CancellationToken cancellationToken) => RentAsync(_options.AcquireTimeout, cancellationToken);

    /// <summary>As <see cref="RentAsync(CancellationToken)"/>, waiting at most <paramref name="wait"/> for a slot (a request's deadline may leave less than acquireTimeout).</summary>
    public async ValueTask<PoolLease<TConnection>> RentAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (Closing.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            return new(PoolLeaseOutcome.Abandoned, null, null);
        }

        if (_down)
        {
            return new(PoolLeaseOutcome.Down, null, null);
        }

        var acquired = await AcquireSlotAsync(wait, cancellationToken);
        if (acquired != PoolLeaseOutcome.Connected)
        {
            return new(acquired, null, null);
        }

        var connection = TakeConnection();
        var outcome = PoolLeaseOutcome.ConnectFailed;
        try
        {
            var client = await connection.Client;
            var othersBusy = false;
            if (client is null && !Closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested && TakeFallback(connection, out othersBusy) is { } fallback)
            {
                connection = fallback;
                client = await fallback.Client;
            }

            if (client is not null)
            {
                return new(PoolLeaseOutcome.Connected, connection, client);
            }

            outcome = Closing.IsCancellationRequested || cancellationToken.IsCancellationRequested ? PoolLeaseOutcome.Abandoned
                : othersBusy ? PoolLeaseOutcome.OthersBusy
                : PoolLeaseOutcome.ConnectFailed;
        }
        catch
        {
            Release(connection);
            throw;
        }

        Release(connection);
        return new(outcome, null, null);
    }

    /// <summary>True when <paramref name="predicate"/> holds for an open connection of the pool.</summary>
    public bool AnyConnection<TState>(Func<TConnection, TState, bool> predicate, TState state)
    {
        lock (_sync)
        {
            foreach (var connection in _connections)
            {
                if (connection.Client.IsCompletedSuccessfully && connection.Client.Result is { } client && predicate(client, state))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Hands back the slot of a <see cref="PoolLeaseOutcome.Connected"/> lease; a retired connection closes with its last request.</summary>
    public void Return(in PoolLease<TConnection> lease) => Release(lease.Connection!);

    /// <summary>Removes a connection that failed and closes it; the requests still on it fail with it.</summary>
    public void Discard(PooledConnection<TConnection> connection, string reason, bool broken)
    {
        bool removed;
        lock (_sync)
        {
            removed = _connections.Remove(connection);
        }

        if (!removed)
        {
            return;
        }

        if (broken)
        {
            TcpUpstreamLog.Broken(_logger, _upstream, connection.Id, reason);
        }

        _ = CloseAsync(connection, reason);
    }

    /// <summary>Requests waiting for a slot or a connect end (abandoned); the connections close, and the requests on them fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        await _closing.CancelAsync();
        PooledConnection<TConnection>[] connections;
        Task[] background;
        lock (_sync)
        {
            connections = [.. _connections];
            _connections.Clear();
            background = [.. _background];
        }

        foreach (var connection in connections)
        {
            await CloseAsync(connection, "the gateway is stopping");
        }

        await Task.WhenAll(background);
        _closing.Dispose();
    }

    /// <summary>Takes one of the slots: <see cref="PoolLeaseOutcome.Connected"/> (a slot), <see cref="PoolLeaseOutcome.NoSlot"/> or <see cref="PoolLeaseOutcome.Abandoned"/>.</summary>
    private async ValueTask<PoolLeaseOutcome> AcquireSlotAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return PoolLeaseOutcome.Connected;
        }

        if (Interlocked.Increment(ref _waiting) > _options.QueueLimit)
        {
            Interlocked.Decrement(ref _waiting);
            return PoolLeaseOutcome.NoSlot;
        }

        using var deadline = new CancellationTokenSource(wait, _time);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closing, deadline.Token);
        try
        {
            await _slots.WaitAsync(waiting.Token);
            return PoolLeaseOutcome.Connected;
        }
        catch (OperationCanceledException)
        {
            return deadline.IsCancellationRequested && !Closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested ? PoolLeaseOutcome.NoSlot : PoolLeaseOutcome.Abandoned;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>
    /// The connection for a request holding a slot: the one taken last in the same pass (<see cref="FlushBatch"/>)
    /// while it has room, so the requests read in one pass leave in one send; else the usable one with the fewest
    /// requests in flight, or a new one when every connection is busy and the pool has room (see the invariant above).
    /// </summary>
    private PooledConnection<TConnection> TakeConnection()
    {
        var pass = FlushBatch.CurrentPass;
        List<PooledConnection<TConnection>>? dead = null;
        PooledConnection<TConnection> connection;
        lock (_sync)
        {
            connection = pass != 0 && pass == _pass && _passConnection is { Retired: false } same
                && same.InFlight < _options.MaxInFlightPerConnection && IsUsable(same) && _connections.Contains(same)
                ? same
                : LeastLoadedLocked(ref dead);
            connection.InFlight++;
            (_passConnection, _pass) = (connection, pass);
        }

        if (dead is not null)
        {
            foreach (var gone in dead)
            {
                _ = CloseAsync(gone, "the device closed it");
            }
        }

        return connection;
    }

    /// <summary>
    /// Under the lock: the usable connection with the fewest requests in flight, or a new one when every connection is
    /// busy and the pool has room; connections found closed are taken out into <paramref name="dead"/>.
    /// </summary>
    private PooledConnection<TConnection> LeastLoadedLocked(ref List<PooledConnection<TConnection>>? dead)
    {
        PooledConnection<TConnection>? best = null;
        var active = 0;
        for (var i = _connections.Count - 1; i >= 0; i--)
        {
            var candidate = _connections[i];
            if (!IsUsable(candidate))
            {
                _connections.RemoveAt(i);
                (dead ??= []).Add(candidate);
            }
            else if (!candidate.Retired)
            {
                active++;
                if (candidate.InFlight < _options.MaxInFlightPerConnection && (best is null || candidate.InFlight < best.InFlight))
                {
                    best = candidate;
                }
            }
        }

        return best is not null && (best.InFlight == 0 || active >= _options.MaxConnections) ? best : Open();
    }

    /// <summary>
    /// A connected connection with room to take over the slot of <paramref name="failed"/>, whose connect failed;
    /// null when there is none, with <paramref name="othersBusy"/> true when connected ones exist but are full. The
    /// slot moves under the lock, so the invariant holds.
    /// </summary>
    private PooledConnection<TConnection>? TakeFallback(PooledConnection<TConnection> failed, out bool othersBusy)
    {
        lock (_sync)
        {
            PooledConnection<TConnection>? best = null;
            othersBusy = false;
            foreach (var candidate in _connections)
            {
                if (!candidate.Client.IsCompletedSuccessfully || !IsUsable(candidate) || candidate.Retired)
                {
                    continue;
                }

                othersBusy = true;
                if (candidate.InFlight < _options.MaxInFlightPerConnection && (best is null || candidate.InFlight < best.InFlight))
                {
                    best = candidate;
                }
            }

            if (best is not null)
            {
                failed.InFlight--;
                best.InFlight++;
            }

            return best;
        }
    }

    private void Release(PooledConnection<TConnection> connection)
    {
        bool retire;
        lock (_sync)
        {
            connection.InFlight--;
            connection.LastUsed = _time.GetTimestamp();
            retire = connection.Retired && connection.InFlight == 0 && _connections.Remove(connection);
        }

        _slots.Release();
        if (retire)
        {
            _ = CloseAsync(connection, $"older than maxLifetime ({_options.MaxLifetime})");
        }
    }

    /// <summary>Connecting, or connected and not closed.</summary>
    private bool IsUsable(PooledConnection<TConnection> connection) =>
        !connection.Client.IsCompleted || (connection.Client.Result is { } client && _connector.IsOpen(client));

    /// <summary>Starts a new connection in the pool (under the lock); its task yields null when it cannot connect.</summary>
    private PooledConnection<TConnection> Open()
    {
        var connection = new PooledConnection<TConnection>(Interlocked.Increment(ref _nextConnectionId), _time.GetTimestamp());
        connection.Client = ConnectAsync(connection);
        _connections.Add(connection);
        return connection;
    }

    private async Task<TConnection?> ConnectAsync(PooledConnection<TConnection> connection)
    {
        // Off the caller's lock before any work.
        await Task.Yield();
        try
        {
            var client = await _connector.ConnectAsync(Closing);
            LogConnected(connection);
            return client;
        }
        // A device whose TLS handshake fails (an untrusted certificate, a refused one) is unreachable as a closed port is.
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or System.Security.Authentication.AuthenticationException or TimeoutException or OperationCanceledException)
        {
            bool others;
            lock (_sync)
            {
                _connections.Remove(connection);
                others = _connections.Exists(c => c.Client.IsCompletedSuccessfully && IsUsable(c));
            }

            // A device that refuses a further connection while one works is not down (some take only one).
            if (!others && !Closing.IsCancellationRequested)
            {
                MarkDown(ex.Message);
            }

            return null;
        }
    }

    private void MarkDown(string reason)
    {
        lock (_sync)
        {
            if (_down || Closing.IsCancellationRequested)
            {
                return;
            }

            _down = true;
            _background.Add(ReconnectAsync());
        }

        TcpUpstreamLog.ConnectFailed(_logger, _upstream, _address, reason);
        _reachabilityChanged($"cannot connect ({reason}); reconnecting with backoff");
    }

    /// <summary>Reconnects with exponential backoff and jitter for as long as the device stays away (docs/gateway.md, "Health").</summary>
    private async Task ReconnectAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Task.Delay(_reconnect.DelayBefore(Math.Min(attempt, 32), Random.Shared), _time, Closing);
                var client = await _connector.ConnectAsync(Closing);
                var connection = new PooledConnection<TConnection>(Interlocked.Increment(ref _nextConnectionId), _time.GetTimestamp()) { Client = Task.FromResult<TConnection?>(client) };
                bool closing;
                lock (_sync)
                {
                    // DisposeAsync cancels the token before it empties the pool under this lock: checked here, no
                    // connection can join the pool after it was emptied.
                    closing = Closing.IsCancellationRequested;
                    if (!closing)
                    {
                        _connections.Add(connection);
                        _down = false;
                    }
                }

                if (closing)
                {
                    await client.DisposeAsync();
                    return;
                }

                LogConnected(connection);
                _reachabilityChanged($"reconnected after {attempt} attempt(s)");
                return;
            }
            catch (OperationCanceledException) when (Closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or System.Security.Authentication.AuthenticationException or TimeoutException)
            {
                TcpUpstreamLog.ReconnectFailed(_logger, _upstream, attempt, _address, ex.Message);
            }
        }
    }

    private async Task CloseAsync(PooledConnection<TConnection> connection, string reason)
    {
        if (await connection.Client is { } client)
        {
            await client.DisposeAsync();
            TcpUpstreamLog.Closed(_logger, _upstream, connection.Id, reason);
        }
    }

    /// <summary>
    /// Once a second: retires connections past maxLifetime, closes those idle past idleTimeout (keeping minIdle) and
    /// opens connections up to minIdle.
    /// </summary>
    private async Task MaintainAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        do
        {
            List<(PooledConnection<TConnection> Connection, string Reason)> closing = [];
            lock (_sync)
            {
                var idle = _connections.Count(c => c.InFlight == 0 && IsUsable(c));
                for (var i = _connections.Count - 1; i >= 0; i--)
                {
                    var connection = _connections[i];
                    if (connection.InFlight > 0 || !connection.Client.IsCompleted)
                    {
                        connection.Retired |= _options.MaxLifetime > TimeSpan.Zero && _time.GetElapsedTime(connection.OpenedAt) >= _options.MaxLifetime;
                        continue;
                    }

                    string? reason = !IsUsable(connection) ? "the device closed it"
                        : _options.MaxLifetime > TimeSpan.Zero && _time.GetElapsedTime(connection.OpenedAt) >= _options.MaxLifetime ? $"older than maxLifetime ({_options.MaxLifetime})"
                        : _options.IdleTimeout > TimeSpan.Zero && idle > _options.MinIdle && _time.GetElapsedTime(connection.LastUsed) >= _options.IdleTimeout ? $"idle for idleTimeout ({_options.IdleTimeout})"
                        : null;
                    if (reason is not null)
                    {
                        idle -= IsUsable(connection) ? 1 : 0;
                        _connections.RemoveAt(i);
                        closing.Add((connection, reason));
                    }
                }

                for (var open = _connections.Count(c => !c.Retired); !_down && open < _options.MinIdle; open++)
                {
                    Open();
                }
            }

            foreach (var (connection, reason) in closing)
            {
                await CloseAsync(connection, reason);
            }
        }
        while (await UpstreamTimers.WaitForTickAsync(timer, Closing));
    }

    private void LogConnected(PooledConnection<TConnection> connection)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            TcpUpstreamLog.Connected(_logger, _upstream, connection.Id, _address, Count);
        }
    }
}
