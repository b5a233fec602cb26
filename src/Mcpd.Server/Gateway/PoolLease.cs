namespace Mcpd.Server.Gateway;

/// <summary>
/// What <see cref="UpstreamConnectionPool{TConnection}.RentAsync(TimeSpan, CancellationToken)"/> gave a request: a slot on an open connection
/// (<see cref="PoolLeaseOutcome.Connected"/>, handed back with <see cref="UpstreamConnectionPool{TConnection}.Return"/>),
/// or why not (the slot, if one was taken, is already back).
/// </summary>
/// <typeparam name="TConnection">The connection to the device.</typeparam>
internal readonly record struct PoolLease<TConnection>(PoolLeaseOutcome Outcome, PooledConnection<TConnection>? Connection, TConnection? Client)
    where TConnection : class;

/// <summary>How a request's rent of a pool slot ended.</summary>
internal enum PoolLeaseOutcome
{
    /// <summary>A slot on an open connection.</summary>
    Connected,

    /// <summary>The caller went away or the pool is closing.</summary>
    Abandoned,

    /// <summary>The device is unreachable; the pool reconnects in the background.</summary>
    Down,

    /// <summary>No slot within acquireTimeout, or queueLimit requests already wait: the gateway's own limit.</summary>
    NoSlot,

    /// <summary>The new connection opened for the request failed while the others are open but full: the gateway's own limit.</summary>
    OthersBusy,

    /// <summary>The connection opened for the request failed and no other is open.</summary>
    ConnectFailed,
}
