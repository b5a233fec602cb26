using Mcpd.Server.Sessions;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>The in-memory store: the contract on a fake clock, plus its bound and its sweep.</summary>
public sealed class InMemorySessionStoreTests : SessionStoreContract, IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly InMemorySessionStore _store;

    public InMemorySessionStoreTests() => _store = new InMemorySessionStore(maxSessions: 100, sweepInterval: TimeSpan.FromSeconds(30), _time);

    protected override ISessionStore Store => _store;

    protected override Task AdvanceAsync(TimeSpan span)
    {
        _time.Advance(span);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_store_is_bounded_and_expired_sessions_make_room()
    {
        using var small = new InMemorySessionStore(maxSessions: 2, sweepInterval: TimeSpan.FromHours(1), _time);
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

    public void Dispose() => _store.Dispose();
}
