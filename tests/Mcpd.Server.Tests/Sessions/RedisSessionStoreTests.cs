using System.Diagnostics;
using Mcpd.Server.Sessions;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>
/// The Redis store against a real redis-server of its own (one per test): the contract on the real clock, plus the
/// key layout, one round trip per operation, and an outage in the middle of a test.
/// </summary>
public sealed class RedisSessionStoreTests : SessionStoreContract, IAsyncLifetime
{
    /// <summary>
    /// How long a call may take to fail while Redis is down: it must fail rather than hang (the client's timeouts are
    /// 1 s; the margin is for a loaded CI machine, where continuations can wait seconds for a thread).
    /// </summary>
    private static readonly TimeSpan PromptFailure = TimeSpan.FromSeconds(15);

    /// <summary>How long the store may take to notice that Redis is back (its reconnect back-off is at most 5 s).</summary>
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(20);

    private readonly LogCapture _log = new();
    private readonly string _prefix = $"mcpd-test-{Guid.NewGuid():N}:";
    private RedisServer? _redis;
    private RedisSessionStore? _store;

    protected override ISessionStore Store => _store!;

    private RedisServer Redis => _redis!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        try
        {
            _store = NewStore(_redis.ConnectionString);
        }
        catch
        {
            // xunit does not dispose a test whose initialisation failed: stop our server here.
            await _redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _log.Dispose();
    }

    /// <summary>Redis keeps the TTLs: time passes for real.</summary>
    protected override Task AdvanceAsync(TimeSpan span) => Task.Delay(span, TestContext.Current.CancellationToken);

    [Fact]
    public void TryGetValueNow_always_sends_the_caller_to_the_asynchronous_read()
    {
        Assert.False(Store.TryGetValueNow("any", "key", epoch: 1, out _));
        Assert.Equal(SessionStoreKinds.Redis, Store.Kind);
    }

    [Fact]
    public async Task Keys_carry_the_prefix_and_Redis_holds_the_expiry()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        await Store.SetValuesAsync(session.Id, [new("site", "hall-3")], epoch: 0, default);
        await Store.PublishNodeAsync("node-a", new NodeAnnouncement("127.0.0.1:18080", "5f3a9c0e1b2d4e6f"), Ttl, default);

        var keys = (await Redis.CliAsync("--scan")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToList();

        // The live-sessions set (the quota's count) has no expiry of its own: its members are scored by theirs.
        Assert.Equal([$"{_prefix}live-sessions", $"{_prefix}node:node-a", $"{_prefix}session:{session.Id}"], keys);
        keys.RemoveAt(0);
        Assert.Equal("hall-3", (await Redis.CliAsync("HGET", $"{_prefix}session:{session.Id}", "ctx:site")).Trim());
        // The context's counters, kept by the script that sets values: one key, "site" and "hall-3" are 10 bytes.
        Assert.Equal("1", (await Redis.CliAsync("HGET", $"{_prefix}session:{session.Id}", "keys")).Trim());
        Assert.Equal("10", (await Redis.CliAsync("HGET", $"{_prefix}session:{session.Id}", "bytes")).Trim());
        Assert.Equal("5f3a9c0e1b2d4e6f 127.0.0.1:18080", (await Redis.CliAsync("GET", $"{_prefix}node:node-a")).Trim());
        foreach (var key in keys)
        {
            var remaining = long.Parse(await Redis.CliAsync("PTTL", key), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(remaining, 1, (long)Ttl.TotalMilliseconds);
        }
    }

    [Fact]
    public async Task A_session_stored_before_the_context_counters_existed_is_counted_whole_at_its_first_write()
    {
        var sessionId = SessionIds.New();
        var key = $"{_prefix}session:{sessionId}";
        await Redis.CliAsync("HSET", key, "clientId", "old", "ttl", "5000", "created", "1764100000000", "ctx:k1", new string('x', 98));
        await Redis.CliAsync("PEXPIRE", key, "5000");

        var refused = await Store.SetValuesAsync(sessionId, [new("k2", new string('y', 99))], epoch: 0, default);
        var written = await Store.SetValuesAsync(sessionId, [new("k1", ""), new("k2", new string('y', 99))], epoch: 0, default);

        Assert.Equal(SessionWriteStatus.TooLarge, refused.Status);
        Assert.Contains("would hold 201 bytes", refused.Problem, StringComparison.Ordinal);
        Assert.Equal(SessionWrite.Written, written);
        Assert.Equal("1", (await Redis.CliAsync("HGET", key, "keys")).Trim());
        Assert.Equal("101", (await Redis.CliAsync("HGET", key, "bytes")).Trim());
    }

    [Fact]
    public async Task The_owner_is_a_field_of_the_session_without_the_token_and_a_session_stored_before_owners_has_none()
    {
        const string token = "s3cret-token-of-plc-7";
        var owned = NewSession() with { Owner = SessionOwner.Of(identity: null, "plc-7", token) };
        await Store.CreateAsync(owned, default);
        var old = SessionIds.New();
        await Redis.CliAsync("HSET", $"{_prefix}session:{old}", "clientId", "old", "ttl", "5000", "created", "1764100000000");
        await Redis.CliAsync("PEXPIRE", $"{_prefix}session:{old}", "5000");
        var damaged = SessionIds.New();
        await Redis.CliAsync("HSET", $"{_prefix}session:{damaged}", "clientId", "plc-7", "ttl", "5000", "created", "1764100000000", "owner", "t-not-a-hash");
        await Redis.CliAsync("PEXPIRE", $"{_prefix}session:{damaged}", "5000");

        // A kind byte, a 16-byte salt and a 32-byte HMAC: never the token.
        Assert.Equal("49", (await Redis.CliAsync("HSTRLEN", $"{_prefix}session:{owned.Id}", "owner")).Trim());
        Assert.DoesNotContain(token, await Redis.CliAsync("HGETALL", $"{_prefix}session:{owned.Id}"), StringComparison.Ordinal);
        Assert.True((await Store.FindAsync(owned.Id, default))!.Owner!.IsProvenBy(identity: null, "plc-7", token));
        Assert.Null((await Store.TouchAsync(old, default))!.Owner);
        Assert.False((await Store.FindAsync(damaged, default))!.Owner!.IsProvenBy(identity: null, "plc-7", "t-not-a-hash"));
    }

    [Fact]
    public async Task Every_operation_is_one_round_trip()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        var binding = new SessionBinding("node-a", "boot-1", "conn-1");

        // The first call of each script on a fresh Redis answers NOSCRIPT and is sent again by EVAL (two round trips,
        // once per script and Redis start); warm them all up.
        await Store.SetValuesAsync(session.Id, [new("site", "hall-3")], epoch: 0, default);
        Assert.Equal(
            Calls(("evalsha", 1), ("eval", 1), ("hget", 2), ("pexpire", 1)),
            await CommandsDuringAsync(() => Store.GetValueAsync(session.Id, "site", epoch: 0, default).AsTask()));
        await Store.TouchAsync(session.Id, default);
        await Store.GetAllAsync(session.Id, epoch: 0, default);
        await Store.BindAsync(session.Id, binding, default);
        await Store.UnbindAsync(session.Id, binding, default);
        await Store.PublishNodeAsync("node-a", new NodeAnnouncement("h:1", "boot-1"), Ttl, default);
        await Store.ClaimClientAsync(session.ClientId, session.Id, Ttl, ifCurrent: null, default);
        var warmUp = NewSession();
        await Store.CreateAsync(warmUp, default);
        await Store.DeleteAsync(warmUp.Id, epoch: 0, default);

        // INFO commandstats also counts the commands a script runs inside Redis, so each expectation is: one EVALSHA
        // (the one round trip) plus exactly the calls of that script's body, and nothing else.
        const int Reads = 20;
        var calls = await CommandsDuringAsync(async () =>
        {
            for (var i = 0; i < Reads; i++)
            {
                Assert.Equal(new SessionRead(true, "hall-3"), await Store.GetValueAsync(session.Id, "site", epoch: 0, default));
            }
        });
        Assert.Equal(Calls(("evalsha", Reads), ("hget", 2 * Reads), ("pexpire", Reads)), calls);

        Assert.Equal(
            Calls(("evalsha", 1), ("hget", 1), ("pexpire", 1), ("hmget", 1)),
            await CommandsDuringAsync(() => Store.TouchAsync(session.Id, default).AsTask()));
        Assert.Equal(Calls(("hmget", 1)), await CommandsDuringAsync(() => Store.FindAsync(session.Id, default).AsTask()));
        // Setting values also reads each field's old length and the context's counters (keys, bytes), and writes the
        // values and the counters in one HSET.
        Assert.Equal(
            Calls(("evalsha", 1), ("hget", 1), ("pexpire", 1), ("hmget", 1), ("hstrlen", 2), ("hset", 1)),
            await CommandsDuringAsync(() => Store.SetValuesAsync(session.Id, [new("a", "1"), new("b", "2")], epoch: 0, default).AsTask()));
        Assert.Equal(
            Calls(("evalsha", 1), ("hget", 1), ("pexpire", 1), ("hgetall", 1)),
            await CommandsDuringAsync(() => Store.GetAllAsync(session.Id, epoch: 0, default).AsTask()));
        Assert.Equal(
            Calls(("evalsha", 1), ("hget", 1), ("pexpire", 1), ("hmget", 1), ("hincrby", 1), ("hset", 1)),
            await CommandsDuringAsync(() => Store.BindAsync(session.Id, binding, default).AsTask()));
        Assert.Equal(
            Calls(("evalsha", 1), ("hmget", 1), ("hdel", 1)),
            await CommandsDuringAsync(() => Store.UnbindAsync(session.Id, binding, default).AsTask()));
        Assert.Equal(
            Calls(("evalsha", 1), ("get", 1), ("set", 1), ("zadd", 1)),
            await CommandsDuringAsync(() => Store.ClaimClientAsync(session.ClientId, session.Id, Ttl, ifCurrent: session.Id, default).AsTask()));
        Assert.Equal(Calls(("get", 1)), await CommandsDuringAsync(() => Store.GetClientSessionAsync(session.ClientId, default).AsTask()));
        // Deleting is two: the session's script, then the compare-and-delete of its clientId index entry and its removal
        // from the live-sessions set (other keys, perhaps on other nodes of a Redis Cluster), sent together.
        Assert.Equal(
            Calls(("evalsha", 2), ("hget", 2), ("del", 2), ("get", 1), ("zrem", 1)),
            await CommandsDuringAsync(() => Store.DeleteAsync(session.Id, epoch: 0, default).AsTask()));
        Assert.Equal(
            Calls(("evalsha", 1), ("get", 1), ("set", 1)),
            await CommandsDuringAsync(() => Store.PublishNodeAsync("node-a", new NodeAnnouncement("h:1", "boot-1"), Ttl, default).AsTask()));
        Assert.Equal(Calls(("get", 1)), await CommandsDuringAsync(() => Store.GetNodeAsync("node-a", default).AsTask()));
    }

    [Fact]
    public async Task The_quota_counts_live_sessions_of_every_store_on_the_same_Redis_and_a_closed_or_expired_one_frees_its_place()
    {
        await using var nodeA = new RedisSessionStore(new RedisSessionOptions { ConnectionString = Redis.ConnectionString, KeyPrefix = _prefix, MaxSessions = 3 }, Limits, _log.CreateLogger("a"));
        await using var nodeB = new RedisSessionStore(new RedisSessionOptions { ConnectionString = Redis.ConnectionString, KeyPrefix = _prefix, MaxSessions = 3 }, Limits, _log.CreateLogger("b"));
        var first = NewSession();
        var shortLived = NewSession() with { Ttl = TimeSpan.FromMilliseconds(300) };

        Assert.True(await nodeA.CreateAsync(first, default));
        Assert.True(await nodeB.CreateAsync(NewSession(), default));
        Assert.True(await nodeA.CreateAsync(shortLived, default));
        Assert.False(await nodeB.CreateAsync(NewSession(), default)); // 3 live sessions, whichever node opened them
        Assert.True(await nodeA.DeleteAsync(first.Id, epoch: 0, default));
        Assert.True(await nodeB.CreateAsync(NewSession(), default));
        Assert.False(await nodeA.CreateAsync(NewSession(), default));
        await Task.Delay(400, TestContext.Current.CancellationToken); // the short-lived one expires in Redis, and leaves the count
        Assert.True(await nodeA.CreateAsync(NewSession(), default));
    }

    [Fact]
    public async Task Listing_scans_and_stops_at_the_limit()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.CreateAsync(NewSession(), default);
        }

        var calls = await CommandsDuringAsync(async () => Assert.Equal(3, (await Store.ListAsync(3, default)).Count));

        Assert.True(calls.ContainsKey("scan"), string.Join(", ", calls));
        Assert.False(calls.ContainsKey("keys"), string.Join(", ", calls));
        Assert.Empty(await Store.ListAsync(0, default));
    }

    [Fact]
    public async Task While_Redis_is_down_calls_fail_promptly_and_when_it_returns_the_same_store_works_again()
    {
        var before = NewSession();
        Assert.True(await Store.CreateAsync(before, default));

        await Redis.StopAsync();

        var session = NewSession();
        Func<Task>[] calls =
        [
            () => Store.CreateAsync(session, default).AsTask(),
            () => Store.TouchAsync(before.Id, default).AsTask(),
            () => Store.GetValueAsync(before.Id, "site", epoch: 0, default).AsTask(),
            () => Store.SetValuesAsync(before.Id, [new("a", "b")], epoch: 0, default).AsTask(),
            () => Store.DeleteAsync(before.Id, epoch: 0, default).AsTask(),
            () => Store.ListAsync(10, default).AsTask(),
            () => Store.PublishNodeAsync("node-a", new NodeAnnouncement("h:1", "boot-1"), Ttl, default).AsTask(),
        ];
        foreach (var call in calls)
        {
            var elapsed = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<SessionStoreUnavailableException>(call);
            Assert.True(elapsed.Elapsed < PromptFailure, $"failed after {elapsed.Elapsed}, more than {PromptFailure}");
            Assert.Contains(Redis.ConnectionString, failure.Message, StringComparison.Ordinal);
        }

        await _log.WaitForAsync($"Redis at {Redis.ConnectionString} is unreachable");

        await Redis.StartAgainAsync();

        await UntilAvailableAsync(() => Store.CreateAsync(session, default).AsTask());
        Assert.Null(await Store.TouchAsync(before.Id, default)); // no persistence: what was written before is gone
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("site", "hall-3")], epoch: 0, default));
        Assert.Equal(new SessionRead(true, "hall-3"), await Store.GetValueAsync(session.Id, "site", epoch: 0, default));
        await _log.WaitForAsync($"Redis at {Redis.ConnectionString} is reachable again");
    }

    [Fact]
    public async Task A_Redis_that_stops_answering_times_out_promptly_as_unavailable()
    {
        var session = NewSession();
        Assert.True(await Store.CreateAsync(session, default));

        await Redis.PauseAsync();
        try
        {
            var elapsed = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => Store.TouchAsync(session.Id, default).AsTask());
            Assert.True(elapsed.Elapsed < PromptFailure, $"failed after {elapsed.Elapsed}, more than {PromptFailure}");
            Assert.EndsWith("Redis did not answer in time", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            await Redis.ResumeAsync();
        }

        // Redis's clock ran on while it was frozen, so the first session may have expired: check with a new one.
        var after = NewSession();
        await UntilAvailableAsync(() => Store.CreateAsync(after, default).AsTask());
        Assert.NotNull(await Store.TouchAsync(after.Id, default));
    }

    [Fact]
    public async Task A_store_created_while_Redis_is_down_starts_at_once_and_works_when_Redis_comes_up()
    {
        await Redis.StopAsync();

        var elapsed = Stopwatch.StartNew();
        await using var store = NewStore(Redis.ConnectionString);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(1), $"the constructor took {elapsed.Elapsed}");
        await Assert.ThrowsAsync<SessionStoreUnavailableException>(() => store.TouchAsync("any", default).AsTask());
        await _log.WaitForAsync("is unreachable");

        await Redis.StartAgainAsync();

        var session = NewSession();
        await UntilAvailableAsync(() => store.CreateAsync(session, default).AsTask());
        Assert.NotNull(await store.TouchAsync(session.Id, default));
    }

    [Fact]
    public void Check_reports_a_connection_string_that_does_not_parse_or_names_no_server()
    {
        var problems = new List<string>();

        RedisSessionStore.Check(new RedisSessionOptions { ConnectionString = "127.0.0.1:6379,connectTimeout=soon" }, "sessions:redis", problems);
        RedisSessionStore.Check(new RedisSessionOptions { ConnectionString = "password=x" }, "sessions:redis", problems);
        RedisSessionStore.Check(new RedisSessionOptions { ConnectionString = "127.0.0.1:6379,password=x,syncTimeout=200" }, "sessions:redis", problems);

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("sessions:redis:connectionString: not a StackExchange.Redis configuration", problems[0], StringComparison.Ordinal);
        Assert.Equal("sessions:redis:connectionString: names no host:port", problems[1]);
        Assert.DoesNotContain(problems, p => p.Contains("password", StringComparison.Ordinal));
    }

    private static Dictionary<string, long> Calls(params (string Command, long Count)[] calls) =>
        calls.ToDictionary(c => c.Command, c => c.Count, StringComparer.Ordinal);

    /// <summary>Retries <paramref name="call"/> while it answers UNAVAILABLE, for at most <see cref="RecoveryTimeout"/>.</summary>
    private static async Task UntilAvailableAsync(Func<Task> call)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (SessionStoreUnavailableException) when (deadline.Elapsed < RecoveryTimeout)
            {
                await Task.Delay(100);
            }
        }
    }

    private RedisSessionStore NewStore(string connectionString) =>
        new(new RedisSessionOptions { ConnectionString = connectionString, KeyPrefix = _prefix }, Limits, _log.CreateLogger("sessions"));

    /// <summary>The commands Redis executed while <paramref name="action"/> ran, by name (the INFO of the measurement left out).</summary>
    private async Task<Dictionary<string, long>> CommandsDuringAsync(Func<Task> action)
    {
        var before = await Redis.CommandCallsAsync();
        await action();
        var after = await Redis.CommandCallsAsync();
        return after
            .Where(c => c.Key != "info")
            .Select(c => (c.Key, Count: c.Value - before.GetValueOrDefault(c.Key)))
            .Where(c => c.Count != 0)
            .ToDictionary(c => c.Key, c => c.Count, StringComparer.Ordinal);
    }
}
