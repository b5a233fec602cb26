using System.Collections.Concurrent;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Sessions in this process: bounded in count and in bytes; an expired session is dropped when it is next touched, and
/// a sweep on one timer (not one per session) removes the rest. Reads by span allocate nothing.
/// </summary>
/// <remarks>
/// Invariant: <see cref="Bytes"/> is the sum of the estimated bytes of the sessions in the map. A session's bytes are
/// reserved before it enters the map or its context grows, and given back exactly once, when it leaves the map
/// (closed, expired, swept); a session that left the map refuses writes, so it can never reserve again.
/// </remarks>
public sealed class InMemorySessionStore : ISessionStore, IDisposable
{
    /// <summary>
    /// Estimated bytes of a session besides the characters of its id and client id and its owner
    /// (<see cref="SessionOwner.EstimatedBytes"/>): its entry, lock, record, context map and map node, and the strings'
    /// headers (measured on .NET 10 x64: about 300, 20,000 sessions; rounded up).
    /// </summary>
    private const int SessionBytes = 384;

    /// <summary>
    /// Estimated bytes of a context key besides its characters and its value's: the map's slot with its share of the
    /// map's growth (measured: about 45) and two string headers.
    /// </summary>
    private const int KeyBytes = 96;

    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly Dictionary<string, string> _clients = new(StringComparer.Ordinal);
    private readonly Lock _clientsSync = new();
    private readonly ConcurrentDictionary<string, (NodeAnnouncement Announcement, long ExpiresAt)> _nodes = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _maxSessions;
    private readonly long _maxBytes;
    private readonly SessionContextLimits _limits;
    private readonly ITimer _sweep;
    private long _bytes;

    /// <summary>
    /// A store bounded by <paramref name="settings"/> (<c>maxSessions</c>, <c>maxStoreBytes</c>, the context limits),
    /// swept every <c>sweepInterval</c>.
    /// </summary>
    public InMemorySessionStore(SessionsOptions settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _maxSessions = settings.MaxSessions;
        _maxBytes = settings.MaxStoreBytes;
        _limits = SessionContextLimits.From(settings);
        _bySpan = _sessions.GetAlternateLookup<ReadOnlySpan<char>>();
        _sweep = time.CreateTimer(static state => ((InMemorySessionStore)state!).Sweep(), this, settings.SweepInterval, settings.SweepInterval);
    }

    /// <inheritdoc />
    public string Kind => SessionStoreKinds.Memory;

    /// <summary>Live sessions (expired ones not yet swept included).</summary>
    public int Count => _sessions.Count;

    /// <summary>The estimated bytes the sessions in the store hold (expired ones not yet swept included), at most <c>sessions.maxStoreBytes</c>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <inheritdoc />
    public ValueTask<bool> CreateAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var bytes = SessionBytes + (2L * (session.Id.Length + session.ClientId.Length)) + (session.Owner?.EstimatedBytes ?? 0);
        if (_sessions.Count >= _maxSessions || !TryReserve(bytes))
        {
            Sweep();
            if (_sessions.Count >= _maxSessions || !TryReserve(bytes))
            {
                return ValueTask.FromResult(false);
            }
        }

        if (_sessions.TryAdd(session.Id, new Entry(session, Now + Ticks(session.Ttl), bytes)))
        {
            return ValueTask.FromResult(true);
        }

        Release(bytes);
        return ValueTask.FromResult(false);
    }

    /// <inheritdoc />
    public ValueTask<SessionInfo?> TouchAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Touch(sessionId)?.Snapshot());

    /// <inheritdoc />
    public ValueTask<SessionInfo?> FindAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_sessions.TryGetValue(sessionId, out var entry) && entry.ExpiresAt > Now ? entry.Snapshot() : null);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string sessionId, long epoch, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(sessionId, out var entry))
        {
            return ValueTask.FromResult(false);
        }

        if (!entry.RemoveFenced(epoch, _sessions))
        {
            return ValueTask.FromResult(false);
        }

        ReleaseClient(entry.Info);
        Release(entry.Close());
        return ValueTask.FromResult(entry.ExpiresAt > Now);
    }

    /// <inheritdoc />
    public ValueTask<SessionRead> GetValueAsync(string sessionId, string key, long epoch, CancellationToken cancellationToken)
    {
        if (Touch(sessionId) is not { } entry)
        {
            return ValueTask.FromResult(default(SessionRead));
        }

        entry.CheckFence(epoch);
        return ValueTask.FromResult(new SessionRead(true, entry.Get(key)));
    }

    /// <inheritdoc />
    public bool TryGetValueNow(ReadOnlySpan<char> sessionId, ReadOnlySpan<char> key, long epoch, out SessionRead result)
    {
        result = default;
        if (!_bySpan.TryGetValue(sessionId, out var entry))
        {
            return true;
        }

        if ((entry.Info.Owner is not null && epoch == 0) || !entry.HoldsFence(epoch))
        {
            return false;
        }

        if (TryExtend(entry))
        {
            result = new SessionRead(true, entry.Get(key));
        }

        return true;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, string>?> GetAllAsync(string sessionId, long epoch, CancellationToken cancellationToken)
    {
        var entry = Touch(sessionId);
        entry?.CheckFence(epoch);
        return ValueTask.FromResult<IReadOnlyDictionary<string, string>?>(entry?.GetAll());
    }

    /// <inheritdoc />
    public ValueTask<SessionWrite> SetValuesAsync(string sessionId, IReadOnlyList<KeyValuePair<string, string>> values, long epoch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (_limits.Check(values) is { } refused)
        {
            return ValueTask.FromResult(refused);
        }

        return ValueTask.FromResult(Touch(sessionId) is { } entry ? entry.Set(values, epoch, this) : SessionWrite.NoSession);
    }

    /// <inheritdoc />
    public ValueTask<SessionBound?> BindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Touch(sessionId)?.Bind(binding));

    /// <inheritdoc />
    public ValueTask UnbindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(sessionId, out var entry))
        {
            entry.Unbind(binding);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<ClientClaim> ClaimClientAsync(string clientId, string sessionId, TimeSpan ttl, string? ifCurrent, CancellationToken cancellationToken)
    {
        lock (_clientsSync)
        {
            var previous = _clients.GetValueOrDefault(clientId);
            var claimed = ifCurrent is null || previous is null || previous == ifCurrent;
            if (claimed)
            {
                _clients[clientId] = sessionId;
            }

            return ValueTask.FromResult(new ClientClaim(claimed, previous));
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> GetClientSessionAsync(string clientId, CancellationToken cancellationToken)
    {
        lock (_clientsSync)
        {
            return ValueTask.FromResult(_clients.GetValueOrDefault(clientId));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionInfo>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return ValueTask.FromResult<IReadOnlyList<SessionInfo>>([.. _sessions.Values.Where(e => e.ExpiresAt > now).Take(limit).Select(e => e.Snapshot())]);
    }

    /// <summary>Never raised: memory is always reachable.</summary>
    public event EventHandler? Restored
    {
        add { }
        remove { }
    }

    /// <inheritdoc />
    public ValueTask<NodeAnnouncement?> PublishNodeAsync(string nodeId, NodeAnnouncement announcement, TimeSpan ttl, CancellationToken cancellationToken)
    {
        NodeAnnouncement? holder = null;
        _nodes.AddOrUpdate(
            nodeId,
            static (_, fresh) => fresh,
            (_, current, fresh) =>
            {
                // The update may run more than once under contention: holder is set by the run that counts.
                holder = current.Announcement.Incarnation != fresh.Announcement.Incarnation && current.ExpiresAt > Now ? current.Announcement : null;
                return holder is null ? fresh : current;
            },
            (Announcement: announcement, ExpiresAt: Now + Ticks(ttl)));
        return ValueTask.FromResult(holder);
    }

    /// <inheritdoc />
    public ValueTask<NodeAnnouncement?> GetNodeAsync(string nodeId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_nodes.TryGetValue(nodeId, out var node) && node.ExpiresAt > Now ? node.Announcement : (NodeAnnouncement?)null);

    /// <inheritdoc />
    public void Dispose() => _sweep.Dispose();

    private long Now => _time.GetTimestamp();

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>The live entry, extended by its TTL (sliding expiry); an expired one is removed and not returned.</summary>
    private Entry? Touch(ReadOnlySpan<char> sessionId) =>
        _bySpan.TryGetValue(sessionId, out var entry) && TryExtend(entry) ? entry : null;

    /// <summary>Extends <paramref name="entry"/> by its TTL; false when it had expired, and then it is removed.</summary>
    private bool TryExtend(Entry entry)
    {
        var now = Now;
        if (!entry.TryExtend(now, now + Ticks(entry.Info.Ttl)))
        {
            Remove(entry);
            return false;
        }

        return true;
    }

    private void Sweep()
    {
        var now = Now;
        foreach (var (_, entry) in _sessions)
        {
            if (entry.ExpiresAt <= now)
            {
                Remove(entry);
            }
        }
    }

    /// <summary>Takes <paramref name="entry"/> out of the map, unless another caller did, and gives its bytes back.</summary>
    private void Remove(Entry entry)
    {
        if (_sessions.TryRemove(new KeyValuePair<string, Entry>(entry.Info.Id, entry)))
        {
            ReleaseClient(entry.Info);
            Release(entry.Close());
        }
    }

    /// <summary>
    /// Adds <paramref name="bytes"/> to the store's total if it stays within <c>maxStoreBytes</c>. Concurrent
    /// reservations may briefly see each other's and refuse when together they would not fit: the bound is never crossed.
    /// </summary>
    private bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _bytes, bytes) <= _maxBytes)
        {
            return true;
        }

        Interlocked.Add(ref _bytes, -bytes);
        return false;
    }

    private void Release(long bytes) => Interlocked.Add(ref _bytes, -bytes);

    /// <summary>Removes the clientId index entry of a session that left the map, if it still names that session.</summary>
    private void ReleaseClient(SessionInfo session)
    {
        lock (_clientsSync)
        {
            if (_clients.TryGetValue(session.ClientId, out var named) && named == session.Id)
            {
                _clients.Remove(session.ClientId);
            }
        }
    }

    /// <summary>The estimated bytes of one context key and its value: its characters (UTF-16) and <see cref="KeyBytes"/>.</summary>
    private static long BytesOf(string key, string value) => KeyBytes + (2L * (key.Length + value.Length));

    /// <summary>
    /// One session: its record, its context and its expiry, changed under its own lock. Invariants under the lock:
    /// <c>_contextBytes</c> is the UTF-8 size of the context and <c>_bytes</c> the estimated bytes reserved for the
    /// session in the store; once closed it holds nothing and takes no writes.
    /// </summary>
    private sealed class Entry(SessionInfo info, long expiresAt, long bytes)
    {
        private readonly Lock _sync = new();
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private SessionBinding? _binding;
        private long _epoch;
        private long _expiresAt = expiresAt;
        private long _bytes = bytes;
        private long _contextBytes;
        private bool _closed;

        public SessionInfo Info { get; } = info;

        public long ExpiresAt => Volatile.Read(ref _expiresAt);

        /// <summary>Moves the expiry to <paramref name="expiresAt"/>; false when the session had already expired at <paramref name="now"/>.</summary>
        public bool TryExtend(long now, long expiresAt)
        {
            lock (_sync)
            {
                if (_expiresAt <= now)
                {
                    return false;
                }

                _expiresAt = expiresAt;
                return true;
            }
        }

        public string? Get(ReadOnlySpan<char> key)
        {
            lock (_sync)
            {
                return _values.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key, out var value) ? value : null;
            }
        }

        public Dictionary<string, string> GetAll()
        {
            lock (_sync)
            {
                return new Dictionary<string, string>(_values, StringComparer.Ordinal);
            }
        }

        /// <summary>
        /// Sets <paramref name="values"/> (the last of a key wins; an empty value removes its key) if the context stays
        /// within the limits and the store has room for what it grows by; else changes nothing.
        /// </summary>
        public SessionWrite Set(IReadOnlyList<KeyValuePair<string, string>> values, long epoch, InMemorySessionStore store)
        {
            var final = new Dictionary<string, string>(values.Count, StringComparer.Ordinal);
            foreach (var (key, value) in values)
            {
                final[key] = value;
            }

            lock (_sync)
            {
                if (_closed)
                {
                    return SessionWrite.NoSession;
                }

                CheckFence(epoch);
                var (keys, contextBytes, growth) = (_values.Count, _contextBytes, 0L);
                foreach (var (key, value) in final)
                {
                    if (_values.TryGetValue(key, out var old))
                    {
                        (keys, contextBytes, growth) = (keys - 1, contextBytes - SessionContextLimits.SizeOf(key, old), growth - BytesOf(key, old));
                    }

                    if (value.Length > 0)
                    {
                        (keys, contextBytes, growth) = (keys + 1, contextBytes + SessionContextLimits.SizeOf(key, value), growth + BytesOf(key, value));
                    }
                }

                if (store._limits.Check(keys, contextBytes) is { Status: not SessionWriteStatus.Written } refused)
                {
                    return refused;
                }

                if (growth > 0 && !store.TryReserve(growth))
                {
                    return SessionWrite.StoreFull($"the session store is full (sessions.maxStoreBytes is {store._maxBytes})");
                }

                foreach (var (key, value) in final)
                {
                    if (value.Length == 0)
                    {
                        _values.Remove(key);
                    }
                    else
                    {
                        _values[key] = value;
                    }
                }

                (_contextBytes, _bytes) = (contextBytes, _bytes + growth);
                if (growth < 0)
                {
                    store.Release(-growth);
                }

                return SessionWrite.Written;
            }
        }

        /// <summary>The session has left the store: drops its context and returns the bytes it had reserved (once).</summary>
        public long Close()
        {
            lock (_sync)
            {
                var bytes = _bytes;
                (_closed, _bytes, _contextBytes) = (true, 0, 0);
                _values.Clear();
                return bytes;
            }
        }

        /// <summary>False when <paramref name="epoch"/> is not 0 and not the session's epoch: a newer connection took it over.</summary>
        public bool HoldsFence(long epoch) => epoch == 0 || epoch == Volatile.Read(ref _epoch);

        /// <summary>Throws <see cref="SessionTakenOverException"/> unless <see cref="HoldsFence"/>.</summary>
        public void CheckFence(long epoch)
        {
            if (!HoldsFence(epoch))
            {
                throw new SessionTakenOverException(Info.Id);
            }
        }

        /// <summary>
        /// Removes this entry from <paramref name="sessions"/> if <paramref name="epoch"/> still holds its fence, under the
        /// lock <see cref="Bind"/> takes: a resume elsewhere cannot take the session over between the check and the
        /// removal (the Redis store's delete script is atomic the same way). Throws <see cref="SessionTakenOverException"/>
        /// when a newer bind holds it; false when the entry was removed already.
        /// </summary>
        public bool RemoveFenced(long epoch, ConcurrentDictionary<string, Entry> sessions)
        {
            lock (_sync)
            {
                CheckFence(epoch);
                return sessions.TryRemove(new KeyValuePair<string, Entry>(Info.Id, this));
            }
        }

        /// <summary>Makes <paramref name="binding"/> the owner: the next epoch, and the binding it replaced.</summary>
        public SessionBound Bind(SessionBinding binding)
        {
            lock (_sync)
            {
                var previous = _binding;
                _binding = binding;
                return new SessionBound(Interlocked.Increment(ref _epoch), previous);
            }
        }

        /// <summary>Forgets the binding if it is still <paramref name="binding"/>.</summary>
        public void Unbind(SessionBinding binding)
        {
            lock (_sync)
            {
                if (_binding == binding)
                {
                    _binding = null;
                }
            }
        }

        public SessionInfo Snapshot()
        {
            lock (_sync)
            {
                return Info with { Binding = _binding, Epoch = _epoch };
            }
        }
    }
}
