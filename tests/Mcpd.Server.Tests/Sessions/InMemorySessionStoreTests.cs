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
        await _store.SetValuesAsync(session.Id, [new("k", "v")], default);

        Assert.True(_store.TryGetValueNow(session.Id.AsSpan(), "k", out var read));
        Assert.Equal(new SessionRead(true, "v"), read);
    }

    [Fact]
    public async Task The_bytes_a_session_holds_are_accounted_and_given_back_on_close_expiry_and_removal()
    {
        var closed = NewSession();
        var expired = NewSession();
        Assert.Equal(0, _store.Bytes);

        await _store.CreateAsync(closed, default);
        var empty = _store.Bytes;
        await _store.SetValuesAsync(closed.Id, [new("site", new string('x', 90)), new("shift", "night")], default);
        var filled = _store.Bytes;
        await _store.SetValuesAsync(closed.Id, [new("site", "")], default);
        var emptied = _store.Bytes;
        await _store.DeleteAsync(closed.Id, default);
        var afterClose = _store.Bytes;
        await _store.CreateAsync(expired, default);
        await _store.SetValuesAsync(expired.Id, [new("site", new string('x', 90))], default);
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
        using var small = NewStore(maxSessions: 100, sweepInterval: TimeSpan.FromHours(1), maxStoreBytes: 4096);
        var big = new string('x', 90);
        List<SessionInfo> sessions = [];
        var write = SessionWrite.Written;
        while (write == SessionWrite.Written && sessions.Count < 100)
        {
            var session = NewSession();
            Assert.True(await small.CreateAsync(session, default));
            sessions.Add(session);
            write = await small.SetValuesAsync(session.Id, [new("a", big), new("b", big)], default);
        }

        var filled = sessions[^2].Id;
        Assert.Equal(SessionWriteStatus.StoreFull, write.Status);
        Assert.Contains("sessions.maxStoreBytes", write.Problem, StringComparison.Ordinal);
        Assert.InRange(sessions.Count, 2, 4);
        Assert.InRange(small.Bytes, 1, 4096);
        Assert.False(await small.CreateAsync(NewSession(), default));
        Assert.Equal(SessionWrite.Written, await small.SetValuesAsync(filled, [new("a", "y")], default)); // shrinking always fits
        Assert.True(await small.DeleteAsync(sessions[0].Id, default));
        Assert.True(await small.CreateAsync(NewSession(), default));
    }

    [Fact]
    public async Task A_closed_session_keeps_no_reference_to_its_values()
    {
        var session = NewSession();
        await _store.CreateAsync(session, default);
        var value = await StoreLargeValueAsync(session.Id);

        await _store.DeleteAsync(session.Id, default);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();

        Assert.False(value.IsAlive, "the store still holds the value of a closed session");
    }

    public void Dispose() => _store.Dispose();

    /// <summary>Sets a value and returns a weak reference to the very string the store holds (no local keeps it alive).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private async Task<WeakReference> StoreLargeValueAsync(string sessionId)
    {
        await _store.SetValuesAsync(sessionId, [new("blob", new string('x', 90))], default);
        return new WeakReference((await _store.GetAllAsync(sessionId, default))!["blob"]);
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
