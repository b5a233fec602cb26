using Mcpd.Client.Mcp;

namespace Mcpd.Server.Sessions;

/// <summary>
/// A session as a handler sees it (<see cref="McpIncomingRequest.Session"/>): context reads and writes go to the store,
/// fenced by <see cref="Epoch"/>. A connection bound to the session holds the handle its bind made; once a newer
/// connection took the session over, the handle stays, stale: the store refuses its every use.
/// </summary>
/// <param name="store">The session store.</param>
/// <param name="id">The session.</param>
/// <param name="epoch">The epoch of the bind that made this handle (the store refuses the handle's operations once a
/// newer bind took the session over); 0 for a request that names a session without holding it.</param>
internal sealed class SessionHandle(ISessionStore store, string id, long epoch) : ISessionState
{
    public string Id { get; } = id;

    public long Epoch { get; } = epoch;

    private int _lost;

    private long _indexClaimedAt;

    /// <summary>The session as bound (its client id and TTL, for its clientId index entry); null for a handle that holds no binding.</summary>
    public SessionInfo? Bound { get; init; }

    /// <summary>When the clientId index entry was last claimed (<see cref="TimeProvider.GetTimestamp"/>): at the bind.</summary>
    public long IndexClaimedAt
    {
        init => _indexClaimedAt = value;
    }

    /// <summary>
    /// True at most once per a third of the session's TTL, for the caller to claim the session's clientId index entry
    /// again (in Redis it expires a TTL after its last claim, while use keeps the session alive).
    /// </summary>
    public bool IndexClaimDue(TimeProvider time)
    {
        var (last, now) = (Volatile.Read(ref _indexClaimedAt), time.GetTimestamp());
        return Bound is { } session && time.GetElapsedTime(last, now) >= session.Ttl / 3 && Interlocked.CompareExchange(ref _indexClaimedAt, now, last) == last;
    }

    /// <summary>True once the session is known to be taken over by a newer connection (<see cref="MarkLost"/>).</summary>
    public bool IsLost => Volatile.Read(ref _lost) == 1;

    /// <summary>Marks the handle as taken over; true the first time, when its connection is to be told.</summary>
    public bool MarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;

    public async ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var read = await Guard(store.GetValueAsync(Id, key, Epoch, cancellationToken));
        return read.SessionFound ? read.Value : throw Expired();
    }

    public async ValueTask SetAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        var write = await Guard(store.SetValuesAsync(Id, [new(key, value)], Epoch, cancellationToken));
        switch (write.Status)
        {
            case SessionWriteStatus.NoSession:
                throw Expired();
            case SessionWriteStatus.TooLarge:
                throw new ArgumentException($"Session {SessionIds.Redact(Id)}: {write.Problem}.", nameof(value));
            case SessionWriteStatus.StoreFull:
                throw new IOException($"Session {SessionIds.Redact(Id)}: {write.Problem}.");
        }
    }

    private IOException Expired() => new($"Session {SessionIds.Redact(Id)} has expired.");

    private static async ValueTask<T> Guard<T>(ValueTask<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (Exception ex) when (ex is SessionStoreUnavailableException or SessionTakenOverException)
        {
            throw new IOException(ex.Message, ex);
        }
    }
}
