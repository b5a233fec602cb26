using Mcpd.Server.Sessions;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>What every <see cref="ISessionStore"/> must do; each store runs these against its real backend.</summary>
public abstract class SessionStoreContract
{
    /// <summary>
    /// The TTL of the sessions these tests create: short enough to watch expiry on a real clock (Redis), long enough
    /// that a loaded CI machine, where a 1 s sleep can overshoot by seconds, does not expire a session in use.
    /// </summary>
    protected static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    /// <summary>The context limits every store under test is made with: small, so that tests reach them quickly.</summary>
    protected static readonly SessionContextLimits Limits = new(MaxValueBytes: 100, MaxKeys: 4, MaxContextBytes: 200);

    protected abstract ISessionStore Store { get; }

    /// <summary>Lets <paramref name="span"/> pass for the store's clock.</summary>
    protected abstract Task AdvanceAsync(TimeSpan span);

    [Fact]
    public async Task A_session_is_created_touched_read_and_deleted()
    {
        var session = NewSession();

        Assert.True(await Store.CreateAsync(session, default));
        var touched = await Store.TouchAsync(session.Id, default);
        Assert.NotNull(touched);
        Assert.Equal(session.ClientId, touched.ClientId);
        Assert.Equal(Ttl, touched.Ttl);
        Assert.True(await Store.DeleteAsync(session.Id, epoch: 0, default));
        Assert.Null(await Store.TouchAsync(session.Id, default));
        Assert.False(await Store.DeleteAsync(session.Id, epoch: 0, default));
    }

    [Fact]
    public async Task Context_values_are_set_read_and_removed_and_unknown_sessions_say_so()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);

        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("site", "hall-3"), new("shift", "night")], epoch: 0, default));
        Assert.Equal(new SessionRead(true, "hall-3"), await Store.GetValueAsync(session.Id, "site", epoch: 0, default));
        Assert.Equal(new SessionRead(true, null), await Store.GetValueAsync(session.Id, "missing", epoch: 0, default));
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("shift", "")], epoch: 0, default));
        Assert.Equal(new Dictionary<string, string> { ["site"] = "hall-3" }, await Store.GetAllAsync(session.Id, epoch: 0, default));

        Assert.False((await Store.GetValueAsync("no-such-session", "site", epoch: 0, default)).SessionFound);
        Assert.Equal(SessionWriteStatus.NoSession, (await Store.SetValuesAsync("no-such-session", [new("a", "b")], epoch: 0, default)).Status);
        Assert.Null(await Store.GetAllAsync("no-such-session", epoch: 0, default));
    }

    [Fact]
    public async Task A_value_over_the_limit_is_refused_by_its_utf8_bytes_and_nothing_of_the_write_is_kept()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        var euros = new string('€', 34); // 34 characters, 102 bytes of UTF-8

        var refused = await Store.SetValuesAsync(session.Id, [new("site", "hall-3"), new("note", euros)], epoch: 0, default);
        var fits = await Store.SetValuesAsync(session.Id, [new("note", euros[..33])], epoch: 0, default);

        Assert.Equal(SessionWriteStatus.TooLarge, refused.Status);
        Assert.Contains("'note' has 102 bytes", refused.Problem, StringComparison.Ordinal);
        Assert.Contains("sessions.maxValueBytes is 100", refused.Problem, StringComparison.Ordinal);
        Assert.Equal(SessionWrite.Written, fits);
        Assert.Equal(new Dictionary<string, string> { ["note"] = euros[..33] }, await Store.GetAllAsync(session.Id, epoch: 0, default));
    }

    [Fact]
    public async Task The_context_is_bounded_in_keys_and_bytes_and_replacing_or_removing_a_value_makes_room()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        var fifty = new string('x', 48); // with a key of 2 bytes: 50 bytes of context

        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("k1", fifty), new("k2", fifty), new("k3", fifty)], epoch: 0, default));
        var overBytes = await Store.SetValuesAsync(session.Id, [new("k4", fifty + "zz")], epoch: 0, default);
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("k1", "short")], epoch: 0, default));
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("k4", fifty)], epoch: 0, default));
        var overKeys = await Store.SetValuesAsync(session.Id, [new("k5", "y")], epoch: 0, default);
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("k2", ""), new("k5", "y")], epoch: 0, default));
        var tooManyInOneWrite = await Store.SetValuesAsync(session.Id, [new("a", ""), new("b", ""), new("c", ""), new("d", ""), new("e", "")], epoch: 0, default);

        Assert.Equal(SessionWriteStatus.TooLarge, overBytes.Status);
        Assert.Contains("sessions.maxContextBytes is 200", overBytes.Problem, StringComparison.Ordinal);
        Assert.Equal(SessionWriteStatus.TooLarge, overKeys.Status);
        Assert.Contains("sessions.maxKeys is 4", overKeys.Problem, StringComparison.Ordinal);
        Assert.Equal(SessionWriteStatus.TooLarge, tooManyInOneWrite.Status);
        Assert.Equal(
            new Dictionary<string, string> { ["k1"] = "short", ["k3"] = fifty, ["k4"] = fifty, ["k5"] = "y" },
            await Store.GetAllAsync(session.Id, epoch: 0, default));
    }

    [Fact]
    public async Task Expiry_slides_with_use_and_an_idle_session_expires()
    {
        var used = NewSession();
        var idle = NewSession();
        await Store.CreateAsync(used, default);
        await Store.CreateAsync(idle, default);

        // Uses 0.3 TTL apart (a real clock on a loaded machine needs the margin); the idle one passes 1.2 TTL unused.
        for (var i = 0; i < 4; i++)
        {
            await AdvanceAsync(Ttl * 0.3);
            Assert.True((await Store.GetValueAsync(used.Id, "any", epoch: 0, default)).SessionFound);
        }

        Assert.Null(await Store.TouchAsync(idle.Id, default));
        Assert.NotNull(await Store.TouchAsync(used.Id, default));
    }

    [Fact]
    public async Task A_session_keeps_its_owner_and_finding_it_extends_nothing()
    {
        var owner = SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!;
        var owned = NewSession() with { Owner = owner };
        var ownerless = NewSession();
        await Store.CreateAsync(owned, default);
        await Store.CreateAsync(ownerless, default);

        SessionInfo?[] reads =
        [
            await Store.FindAsync(owned.Id, default),
            await Store.TouchAsync(owned.Id, default),
            (await Store.ListAsync(1000, default)).SingleOrDefault(s => s.Id == owned.Id),
        ];
        Assert.All(reads, read => Assert.Equal(owner.Bytes.ToArray(), read!.Owner!.Bytes.ToArray()));
        Assert.True(reads[0]!.Owner!.IsProvenBy(identity: null, "plc-7", "s3cret-token"));
        Assert.Equal(owned.ClientId, reads[0]!.ClientId);
        Assert.Null((await Store.FindAsync(ownerless.Id, default))!.Owner);
        Assert.Null(await Store.FindAsync("no-such-session", default));

        // Found (not used) 0.6 TTL after its last use, then 0.6 TTL more: it has expired.
        await AdvanceAsync(Ttl * 0.6);
        Assert.NotNull(await Store.FindAsync(owned.Id, default));
        await AdvanceAsync(Ttl * 0.6);
        Assert.Null(await Store.FindAsync(owned.Id, default));
    }

    [Fact]
    public async Task A_binding_is_recorded_and_only_its_own_connection_unbinds_it()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        var onA = new SessionBinding("node-a", "boot-1", "conn-1");
        var onB = new SessionBinding("node-b", "boot-1", "conn-7");
        var onARestarted = new SessionBinding("node-a", "boot-2", "conn-1");

        Assert.NotNull(await Store.BindAsync(session.Id, onA, default));
        Assert.Equal(onA, (await Store.TouchAsync(session.Id, default))!.Binding);
        Assert.NotNull(await Store.BindAsync(session.Id, onB, default));
        await Store.UnbindAsync(session.Id, onA, default);
        await Store.UnbindAsync(session.Id, onB with { Incarnation = "boot-2" }, default);
        Assert.Equal(onB, (await Store.TouchAsync(session.Id, default))!.Binding);
        Assert.NotNull(await Store.BindAsync(session.Id, onARestarted, default));
        Assert.Equal(onARestarted, (await Store.TouchAsync(session.Id, default))!.Binding);
        Assert.NotNull(await Store.BindAsync(session.Id, onB, default));
        Assert.Equal(onB, (await Store.TouchAsync(session.Id, default))!.Binding);
        await Store.UnbindAsync(session.Id, onB, default);
        Assert.Null((await Store.TouchAsync(session.Id, default))!.Binding);
        Assert.Null(await Store.BindAsync("no-such-session", onA, default));
    }

    [Fact]
    public async Task Each_bind_takes_a_new_epoch_and_returns_the_binding_it_replaced_and_a_stale_epoch_is_refused_without_a_change()
    {
        var session = NewSession();
        await Store.CreateAsync(session, default);
        var onA = new SessionBinding("node-a", "boot-1", "conn-1");
        var onB = new SessionBinding("node-b", "boot-1", "conn-7");

        var first = await Store.BindAsync(session.Id, onA, default);
        Assert.Equal(SessionWrite.Written, await Store.SetValuesAsync(session.Id, [new("site", "hall-3")], first!.Value.Epoch, default));
        var second = await Store.BindAsync(session.Id, onB, default);

        Assert.Equal(new SessionBound(1, null), first);
        Assert.Equal(new SessionBound(2, onA), second);
        Assert.Equal(2, (await Store.FindAsync(session.Id, default))!.Epoch);
        await Assert.ThrowsAsync<SessionTakenOverException>(async () => await Store.SetValuesAsync(session.Id, [new("site", "stale")], first.Value.Epoch, default));
        await Assert.ThrowsAsync<SessionTakenOverException>(async () => await Store.GetValueAsync(session.Id, "site", first.Value.Epoch, default));
        await Assert.ThrowsAsync<SessionTakenOverException>(async () => await Store.GetAllAsync(session.Id, first.Value.Epoch, default));
        await Assert.ThrowsAsync<SessionTakenOverException>(async () => await Store.DeleteAsync(session.Id, first.Value.Epoch, default));
        Assert.Equal(new SessionRead(true, "hall-3"), await Store.GetValueAsync(session.Id, "site", second!.Value.Epoch, default));
        Assert.Equal(new SessionRead(true, "hall-3"), await Store.GetValueAsync(session.Id, "site", epoch: 0, default));
        Assert.True(await Store.DeleteAsync(session.Id, second.Value.Epoch, default));
    }

    [Fact]
    public async Task The_clientId_index_is_claimed_atomically_and_deleting_the_session_it_names_removes_it()
    {
        var first = NewSession();
        var second = NewSession() with { ClientId = first.ClientId };
        await Store.CreateAsync(first, default);
        await Store.CreateAsync(second, default);

        Assert.Equal(new ClientClaim(true, null), await Store.ClaimClientAsync(first.ClientId, first.Id, Ttl, ifCurrent: first.Id, default));
        Assert.Equal(new ClientClaim(false, first.Id), await Store.ClaimClientAsync(first.ClientId, second.Id, Ttl, ifCurrent: second.Id, default));
        Assert.Equal(first.Id, await Store.GetClientSessionAsync(first.ClientId, default));
        Assert.Equal(new ClientClaim(true, first.Id), await Store.ClaimClientAsync(first.ClientId, second.Id, Ttl, ifCurrent: first.Id, default));
        Assert.Equal(new ClientClaim(true, second.Id), await Store.ClaimClientAsync(first.ClientId, second.Id, Ttl, ifCurrent: null, default));
        Assert.True(await Store.DeleteAsync(first.Id, epoch: 0, default));
        Assert.Equal(second.Id, await Store.GetClientSessionAsync(first.ClientId, default)); // the entry names another session: it stays
        Assert.True(await Store.DeleteAsync(second.Id, epoch: 0, default));
        Assert.Null(await Store.GetClientSessionAsync(first.ClientId, default));
    }

    [Fact]
    public async Task Nodes_announce_themselves_and_disappear_when_they_stop()
    {
        var announcement = new NodeAnnouncement("127.0.0.1:18080", "boot-1");
        Assert.Null(await Store.PublishNodeAsync("node-a", announcement, Ttl, default));

        Assert.Equal(announcement, await Store.GetNodeAsync("node-a", default));
        Assert.Null(await Store.GetNodeAsync("node-z", default));
        await AdvanceAsync(Ttl * 1.5);
        Assert.Null(await Store.GetNodeAsync("node-a", default));
    }

    [Fact]
    public async Task A_node_id_is_announced_by_one_incarnation_until_its_announcement_expires()
    {
        var first = new NodeAnnouncement("127.0.0.1:18080", "boot-1");
        var second = new NodeAnnouncement("127.0.0.1:18081", "boot-2");
        Assert.Null(await Store.PublishNodeAsync("node-a", first, Ttl, default));

        Assert.Equal(first, await Store.PublishNodeAsync("node-a", second, Ttl, default));
        Assert.Null(await Store.PublishNodeAsync("node-a", first, Ttl, default)); // renewed by its own incarnation
        Assert.Equal(first, await Store.GetNodeAsync("node-a", default));
        await AdvanceAsync(Ttl * 1.5);
        Assert.Null(await Store.PublishNodeAsync("node-a", second, Ttl, default));
        Assert.Equal(second, await Store.GetNodeAsync("node-a", default));
    }

    [Fact]
    public async Task Live_sessions_are_listed()
    {
        var sessions = Enumerable.Range(0, 3).Select(_ => NewSession()).ToList();
        foreach (var session in sessions)
        {
            await Store.CreateAsync(session, default);
        }

        var listed = await Store.ListAsync(1000, default);

        Assert.Superset(sessions.Select(s => s.Id).ToHashSet(), listed.Select(s => s.Id).ToHashSet());
    }

    protected static SessionInfo NewSession() =>
        new(SessionIds.New(), "client-" + Guid.NewGuid().ToString("N")[..6], Ttl, DateTimeOffset.UtcNow);
}
