namespace Mcpd.Server.Gateway;

/// <summary>
/// One connection of an <see cref="UpstreamConnectionPool{TConnection}"/>. <see cref="InFlight"/>,
/// <see cref="LastUsed"/> and <see cref="Retired"/> change under the pool's lock.
/// </summary>
/// <typeparam name="TConnection">The connection to the device.</typeparam>
internal sealed class PooledConnection<TConnection>(int id, long openedAt)
    where TConnection : class
{
    /// <summary>Requests in a row that got no answer; its owner changes it with Interlocked.</summary>
    public int Timeouts;

    /// <summary>Numbers the pool's connections in the logs.</summary>
    public int Id { get; } = id;

    /// <summary>When it was opened (a <see cref="TimeProvider"/> timestamp).</summary>
    public long OpenedAt { get; } = openedAt;

    /// <summary>The connection once connected; null when connecting failed.</summary>
    public Task<TConnection?> Client { get; set; } = Task.FromResult<TConnection?>(null);

    /// <summary>Slots taken on it: requests sent or about to be.</summary>
    public int InFlight { get; set; }

    /// <summary>When its last request ended (a <see cref="TimeProvider"/> timestamp).</summary>
    public long LastUsed { get; set; } = openedAt;

    /// <summary>Past maxLifetime: takes no new request, closes when the last one is answered.</summary>
    public bool Retired { get; set; }
}
