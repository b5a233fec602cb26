using Mcpd.Client;
using System.Net.Sockets;
using Mcpd.Server.Gateway;
using Mcpd.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The TCP upstream's connection pool on its own, over a fake connector and a fake clock: slots, the least-loaded
/// choice, minIdle, idle and lifetime retirement, Down and the reconnect, closing.
/// </summary>
public sealed class UpstreamConnectionPoolTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new();
    private readonly FakeConnector _connector = new();
    private readonly List<string> _reachability = [];

    [Fact]
    public async Task A_new_connection_is_opened_only_while_every_connection_is_busy_and_the_pool_has_room()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 2, MaxInFlightPerConnection = 2 });

        var first = await pool.RentAsync(CancellationToken.None);
        var second = await pool.RentAsync(CancellationToken.None);

        Assert.NotSame(first.Connection, second.Connection);
        Assert.Equal(2, _connector.Opened.Count);

        pool.Return(first);
        var third = await pool.RentAsync(CancellationToken.None);
        var fourth = await pool.RentAsync(CancellationToken.None);

        // The least loaded (the one with no request in flight) first; then, the pool full, a busy one with room.
        Assert.Same(first.Connection, third.Connection);
        Assert.Equal(PoolLeaseOutcome.Connected, fourth.Outcome);
        Assert.Equal(2, _connector.Opened.Count);
        Assert.Equal(3, first.Connection!.InFlight + second.Connection!.InFlight); // second, third and fourth
    }

    [Fact]
    public async Task Requests_taken_in_one_pass_share_a_connection_while_it_has_room_so_they_leave_in_one_send()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 4, MaxInFlightPerConnection = 2 });

        Task<PoolLease<FakeConnection>> first, second, third;
        using (FlushBatch.Begin())
        {
            // One event-loop pass: what its handlers queue upstream is flushed once, at its end.
            first = pool.RentAsync(CancellationToken.None).AsTask();
            second = pool.RentAsync(CancellationToken.None).AsTask();
            third = pool.RentAsync(CancellationToken.None).AsTask();
        }

        Task<PoolLease<FakeConnection>> fourth;
        using (FlushBatch.Begin())
        {
            fourth = pool.RentAsync(CancellationToken.None).AsTask();
        }

        var (a, b, c, d) = (await first, await second, await third, await fourth);
        Assert.Same(a.Connection, b.Connection);
        // Full (maxInFlightPerConnection): the next goes elsewhere, and a later pass spreads again (least loaded first).
        Assert.NotSame(a.Connection, c.Connection);
        Assert.NotSame(a.Connection, d.Connection);
        Assert.NotSame(c.Connection, d.Connection);
        Assert.Equal(3, _connector.Opened.Count);
    }

    [Fact]
    public async Task Without_a_free_slot_a_request_waits_acquireTimeout_then_gets_none()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = 1, QueueLimit = 1, AcquireTimeout = TimeSpan.FromSeconds(1) });
        var held = await pool.RentAsync(CancellationToken.None);

        var waiting = pool.RentAsync(CancellationToken.None).AsTask();
        var refused = await pool.RentAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(PoolLeaseOutcome.NoSlot, refused.Outcome); // the queue holds queueLimit requests already
        Assert.Equal(PoolLeaseOutcome.NoSlot, (await waiting.WaitAsync(Patience)).Outcome);
        Assert.Equal(PoolLeaseOutcome.Connected, held.Outcome);
    }

    [Fact]
    public async Task A_returned_slot_goes_to_the_request_waiting_for_one()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = 1 });
        var held = await pool.RentAsync(CancellationToken.None);

        var waiting = pool.RentAsync(CancellationToken.None).AsTask();
        pool.Return(held);

        var lease = await waiting.WaitAsync(Patience);
        Assert.Equal(PoolLeaseOutcome.Connected, lease.Outcome);
        Assert.Same(held.Connection, lease.Connection);
    }

    [Fact]
    public async Task MinIdle_connections_are_opened_at_start_and_idle_ones_beyond_it_close_after_idleTimeout()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 4, MaxInFlightPerConnection = 1, MinIdle = 1, IdleTimeout = TimeSpan.FromSeconds(5) });
        pool.Start();
        await Eventually.HoldsAsync(() => _connector.Opened.Count == 1 && pool.Count == 1, Patience);

        var first = await pool.RentAsync(CancellationToken.None);
        var second = await pool.RentAsync(CancellationToken.None);
        pool.Return(first);
        pool.Return(second);
        Assert.Equal(2, pool.Count);
        await AdvanceSecondsAsync(6);

        await Eventually.HoldsAsync(() => pool.Count == 1 && _connector.Opened.Count(c => c.Disposed) == 1, Patience);
    }

    [Fact]
    public async Task A_connection_past_maxLifetime_takes_no_new_request_and_closes_with_its_last_one()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = 2, MaxLifetime = TimeSpan.FromSeconds(10), IdleTimeout = TimeSpan.Zero });
        pool.Start();
        var old = await pool.RentAsync(CancellationToken.None);

        await AdvanceSecondsAsync(11);
        await Eventually.HoldsAsync(() => old.Connection!.Retired, Patience);
        var fresh = await pool.RentAsync(CancellationToken.None);

        Assert.NotSame(old.Connection, fresh.Connection);
        Assert.False(old.Client!.Disposed);
        pool.Return(old);
        await Eventually.HoldsAsync(() => old.Client.Disposed && pool.Count == 1, Patience);
        Assert.False(fresh.Client!.Disposed);
    }

    [Fact]
    public async Task An_unreachable_device_makes_the_pool_Down_until_a_reconnect_succeeds()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { Reconnect = new UpstreamReconnectOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(1) } });
        _connector.Refuse = true;

        Assert.Equal(PoolLeaseOutcome.ConnectFailed, (await pool.RentAsync(CancellationToken.None)).Outcome);
        Assert.True(pool.IsDown);
        Assert.Equal(PoolLeaseOutcome.Down, (await pool.RentAsync(CancellationToken.None)).Outcome);
        Assert.StartsWith("cannot connect (refused)", Assert.Single(_reachability));

        _connector.Refuse = false;
        await AdvanceSecondsAsync(1);
        await Eventually.HoldsAsync(() => !pool.IsDown, Patience);

        Assert.Equal("reconnected after 1 attempt(s)", _reachability[^1]);
        Assert.Equal(PoolLeaseOutcome.Connected, (await pool.RentAsync(CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task A_connection_the_device_closed_is_replaced_on_the_next_rent()
    {
        await using var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = 1 });
        var first = await pool.RentAsync(CancellationToken.None);
        pool.Return(first);
        first.Client!.IsOpen = false;

        var second = await pool.RentAsync(CancellationToken.None);

        Assert.NotSame(first.Connection, second.Connection);
        await Eventually.HoldsAsync(() => first.Client.Disposed, Patience);
    }

    [Fact]
    public async Task Closing_the_pool_abandons_the_waiting_requests_and_closes_every_connection()
    {
        var pool = CreatePool(new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = 1 });
        var held = await pool.RentAsync(CancellationToken.None);
        var waiting = pool.RentAsync(CancellationToken.None).AsTask();

        await pool.DisposeAsync();

        Assert.Equal(PoolLeaseOutcome.Abandoned, (await waiting.WaitAsync(Patience)).Outcome);
        Assert.True(held.Client!.Disposed);
        Assert.Equal(PoolLeaseOutcome.Abandoned, (await pool.RentAsync(CancellationToken.None)).Outcome);
    }

    private UpstreamConnectionPool<FakeConnection> CreatePool(TcpUpstreamOptions options) =>
        new("dev", "192.0.2.1:502", options, _connector, _time, NullLogger.Instance, _reachability.Add);

    /// <summary>Moves the clock a second at a time, so the maintenance timer ticks at each.</summary>
    private async Task AdvanceSecondsAsync(int seconds)
    {
        for (var i = 0; i < seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }
    }

    private sealed class FakeConnection : IAsyncDisposable
    {
        public volatile bool IsOpen = true;

        public volatile bool Disposed;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            IsOpen = false;
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FakeConnector : IUpstreamConnector<FakeConnection>
    {
        public volatile bool Refuse;

        public List<FakeConnection> Opened { get; } = [];

        public Task<FakeConnection> ConnectAsync(CancellationToken cancellationToken)
        {
            if (Refuse)
            {
                throw new SocketException((int)SocketError.ConnectionRefused, "refused");
            }

            var connection = new FakeConnection();
            lock (Opened)
            {
                Opened.Add(connection);
            }

            return Task.FromResult(connection);
        }

        public bool IsOpen(FakeConnection connection) => connection.IsOpen;
    }
}
