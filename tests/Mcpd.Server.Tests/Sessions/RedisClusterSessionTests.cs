using Mcpd.Server.Sessions;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>
/// The Redis store on a real Redis Cluster of three masters on loopback: every operation's keys are one slot's, and
/// listing (<c>/api/sessions</c>) scans every master instead of one master's share.
/// </summary>
public sealed class RedisClusterSessionTests : IAsyncLifetime
{
    private readonly LogCapture _log = new();
    private RedisCluster _cluster = null!;
    private RedisSessionStore _store = null!;

    public async ValueTask InitializeAsync()
    {
        _cluster = await RedisCluster.StartAsync();
        _store = new RedisSessionStore(new RedisSessionOptions { ConnectionString = _cluster.ConnectionString, KeyPrefix = "mcpd-test:" }, SessionContextLimits.From(new SessionsOptions()), _log.CreateLogger("sessions"));
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task Sessions_spread_over_every_master_are_all_listed_and_each_operation_works()
    {
        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var session = new SessionInfo(SessionIds.New(), $"plc-{i}", TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
            Assert.True(await _store.CreateAsync(session, default));
            var bound = await _store.BindAsync(session.Id, new SessionBinding("node-a", "boot-1", $"conn-{i}"), default);
            Assert.Equal(SessionWrite.Written, await _store.SetValuesAsync(session.Id, [new("site", "hall-3")], bound!.Value.Epoch, default));
            Assert.True((await _store.ClaimClientAsync(session.ClientId, session.Id, session.Ttl, ifCurrent: null, default)).Claimed);
            ids.Add(session.Id);
        }

        // Each master holds a share of the 30 (by the slot of each key): all three are scanned.
        foreach (var master in _cluster.Masters)
        {
            Assert.InRange(long.Parse((await master.CliAsync("DBSIZE")).Trim(), System.Globalization.CultureInfo.InvariantCulture), 1, 61);
        }

        var listed = await _store.ListAsync(100, default);

        Assert.Equal(ids.Order(), listed.Select(s => s.Id).Order());
        Assert.Equal(ids[7], await _store.GetClientSessionAsync("plc-7", default));
        Assert.True(await _store.DeleteAsync(ids[7], epoch: 1, default));
        Assert.Null(await _store.GetClientSessionAsync("plc-7", default));
        Assert.Equal(29, (await _store.ListAsync(100, default)).Count);
    }
}
