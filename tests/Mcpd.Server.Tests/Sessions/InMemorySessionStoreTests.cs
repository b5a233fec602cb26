using System.Runtime.CompilerServices;
using Mcpd.Server.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>The in-memory store: the contract on a fake clock, plus its bounds, its accounting and its sweep.</summary>
public sealed class InMemorySessionStoreTests : SessionStoreContract, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemorySessionStore _store;

    public InMemorySessionStoreTests() => _store = NewStore(maxSessions: 100, sweepInterval: TimeSpan.FromSeconds(30));

    protected override ISessionStore Store => _store;

    protected override Task AdvanceAsync(TimeSpan span)
    {
        _time.Advance(span);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_store_is_bounded_and_expired_sessions_make_room()
    {
        using var small = NewStore(maxSessions: 2, sweepInterval: TimeSpan.FromHours(1));
        Assert.True(await small.CreateAsync(NewSession(), default));
        Assert.True(await small.CreateAsync(NewSession(), default));

        Assert.False(await small.CreateAsync(NewSession(), default));
        _time.Advance(Ttl * 2);
        Assert.True(await small.CreateAsync(NewSession(), default));
    }

    [Fact]
    public async Task The_sweep_removes_expired_sessions_nobody_touches()
    {
        await _store.CreateAsync(NewSession(), default);
        await _store.CreateAsync(NewSession(), default);

        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(0, _store.Count);
    }

    [Fact]
    public async Task Reading_by_span_answers_at_once()
    {
        var session = NewSession();
        await _store.CreateAsync(session, default);
        await _store.SetValuesAsync(session.Id, [new("k", "v")], epoch: 0, default);

        Assert.True(_store.TryGetValueNow(session.Id.AsSpan(), "k", epoch: 0, out var read));
        Assert.Equal(new SessionRead(true, "v"), read);
    }

    [Fact]
    public async Task Reading_by_span_leaves_a_session_with_an_owner_untouched_unless_the_caller_proved_it()
    {
        var session = NewSession() with { Owner = SessionOwner.Of(identity: null, "plc-7", "s3cret-token") };
        await _store.CreateAsync(session, default);
        var bound = await _store.BindAsync(session.Id, new SessionBinding("node-a", "boot-1", "E00000001"), default);
        await _store.SetValuesAsync(session.Id, [new("k", "v")], epoch: 0, default);

        _time.Advance(Ttl * 0.6);
        Assert.False(_store.TryGetValueNow(session.Id.AsSpan(), "k", epoch: 0, out _));
        _time.Advance(Ttl * 0.6);

        Assert.True(_store.TryGetValueNow(session.Id.AsSpan(), "k", bound!.Value.Epoch, out var expired));
        Assert.False(expired.SessionFound);
    }

    [Fact]
    public async Task An_owner_is_accounted_with_its_session()
    {
        var owner = SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!;
        await _store.CreateAsync(NewSession(), default);
        var withoutOwner = _store.Bytes;
        await _store.CreateAsync(NewSession() with { Owner = owner }, default);

        // Both sessions have ids and client ids of the same length.
        Assert.Equal(withoutOwner + owner.EstimatedBytes, _store.Bytes - withoutOwner);
    }

    [Fact]
    public async Task The_bytes_a_session_holds_are_accounted_and_given_back_on_close_expiry_and_removal()
    {
        var closed = NewSession();
        var expired = NewSession();
        Assert.Equal(0, _store.Bytes);

        await _store.CreateAsync(closed, default);
        var empty = _store.Bytes;
        await _store.SetValuesAsync(closed.Id, [new("site", new string('x', 90)), new("shift", "night")], epoch: 0, default);
        var filled = _store.Bytes;
        await _store.SetValuesAsync(closed.Id, [new("site", "")], epoch: 0, default);
        var emptied = _store.Bytes;
        await _store.DeleteAsync(closed.Id, epoch: 0, default);
        var afterClose = _store.Bytes;
        await _store.CreateAsync(expired, default);
        await _store.SetValuesAsync(expired.Id, [new("site", new string('x', 90))], epoch: 0, default);
        _time.Advance(TimeSpan.FromSeconds(31)); // past the TTL and one sweep

        Assert.InRange(empty, 1, 1024);
        Assert.True(filled - empty >= 2 * (4 + 90 + 5 + 5), $"{filled - empty} bytes accounted for 104 characters of context");
        Assert.True(emptied < filled - (2 * 94), $"{filled} -> {emptied}: removing a key gives its bytes back");
        Assert.Equal(0, afterClose);
        Assert.Equal(0, _store.Count);
        Assert.Equal(0, _store.Bytes);
    }

    [Fact]
    public async Task A_full_store_refuses_what_would_grow_it_and_room_comes_back_when_a_session_goes()
    {
        var big = new string('x', 90);
        KeyValuePair<string, string>[] twoValues = [new("a", big), new("b", big)];
        var (empty, filled) = await SizesAsync(twoValues);
        using var small = NewStore(maxSessions: 100, sweepInterval: TimeSpan.FromHours(1), maxStoreBytes: (2 * filled) + empty + 10);
        var first = NewSession();
        var second = NewSession();
        var third = NewSession();
        await small.CreateAsync(first, default);
        await small.SetValuesAsync(first.Id, twoValues, epoch: 0, default);
        await small.CreateAsync(second, default);
        await small.SetValuesAsync(second.Id, twoValues, epoch: 0, default);

        Assert.True(await small.CreateAsync(third, default));
        var full = await small.SetValuesAsync(third.Id, twoValues, epoch: 0, default);
        Assert.Equal(SessionWriteStatus.StoreFull, full.Status);
        Assert.Contains("sessions.maxStoreBytes", full.Problem, StringComparison.Ordinal);
        Assert.False(await small.CreateAsync(NewSession(), default));
        Assert.Equal((2 * filled) + empty, small.Bytes);
        Assert.Equal(SessionWrite.Written, await small.SetValuesAsync(first.Id, [new("a", "y")], epoch: 0, default)); // shrinking always fits
        Assert.True(await small.DeleteAsync(second.Id, epoch: 0, default));
        Assert.True(await small.CreateAsync(NewSession(), default));
    }

    [Fact]
    public async Task A_closed_session_keeps_no_reference_to_its_values()
    {
        var session = NewSession();
        await _store.CreateAsync(session, default);
        var value = await StoreLargeValueAsync(session.Id);

        await _store.DeleteAsync(session.Id, epoch: 0, default);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();

        Assert.False(value.IsAlive, "the store still holds the value of a closed session");
    }

    public void Dispose() => _store.Dispose();

    /// <summary>Sets a value and returns a weak reference to the very string the store holds (no local keeps it alive).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task<WeakReference> StoreLargeValueAsync(string sessionId)
    {
        await _store.SetValuesAsync(sessionId, [new("blob", new string('x', 90))], epoch: 0, default);
        return new WeakReference((await _store.GetAllAsync(sessionId, epoch: 0, default))!["blob"]);
    }

    /// <summary>The bytes a store accounts for a session without context, and with <paramref name="values"/>.</summary>
    private async Task<(long Empty, long Filled)> SizesAsync(KeyValuePair<string, string>[] values)
    {
        using var probe = NewStore(maxSessions: 1, sweepInterval: TimeSpan.FromHours(1));
        var session = NewSession();
        await probe.CreateAsync(session, default);
        var empty = probe.Bytes;
        await probe.SetValuesAsync(session.Id, values, epoch: 0, default);
        return (empty, probe.Bytes);
    }

    private InMemorySessionStore NewStore(int maxSessions, TimeSpan sweepInterval, long maxStoreBytes = 64 * 1024 * 1024) =>
        new(new SessionsOptions
        {
            MaxSessions = maxSessions,
            SweepInterval = sweepInterval,
            MaxStoreBytes = maxStoreBytes,
            MaxValueBytes = Limits.MaxValueBytes,
            MaxKeys = Limits.MaxKeys,
            MaxContextBytes = Limits.MaxContextBytes,
        }, _time);
}
