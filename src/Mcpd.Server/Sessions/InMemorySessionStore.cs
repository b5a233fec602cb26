using System.Collections.Concurrent;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Sessions in this process: bounded in count; an expired session is dropped when it is next touched, and a sweep on
/// one timer (not one per session) removes the rest. Reads by span allocate nothing.
/// </summary>
public sealed class InMemorySessionStore : ISessionStore, IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly ConcurrentDictionary<string, (string Address, long ExpiresAt)> _nodes = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _maxSessions;
    private readonly ITimer _sweep;

    /// <summary>A store of at most <paramref name="maxSessions"/> sessions, swept every <paramref name="sweepInterval"/>.</summary>
    public InMemorySessionStore(int maxSessions, TimeSpan sweepInterval, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _maxSessions = maxSessions;
        _bySpan = _sessions.GetAlternateLookup<ReadOnlySpan<char>>();
        _sweep = time.CreateTimer(static state => ((InMemorySessionStore)state!).Sweep(), this, sweepInterval, sweepInterval);
    }

    /// <inheritdoc />
    public string Kind => SessionStoreKinds.Memory;

    /// <summary>Live sessions (expired ones not yet swept included).</summary>
    public int Count => _sessions.Count;

    /// <inheritdoc />
    public ValueTask<bool> CreateAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (_sessions.Count >= _maxSessions)
        {
            Sweep();
            if (_sessions.Count >= _maxSessions)
            {
                return ValueTask.FromResult(false);
            }
        }

        return ValueTask.FromResult(_sessions.TryAdd(session.Id, new Entry(session, Now + Ticks(session.Ttl))));
    }

    /// <inheritdoc />
    public ValueTask<SessionInfo?> TouchAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Touch(sessionId)?.Snapshot());

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_sessions.TryRemove(sessionId, out var entry) && entry.ExpiresAt > Now);

    /// <inheritdoc />
    public ValueTask<SessionRead> GetValueAsync(string sessionId, string key, CancellationToken cancellationToken)
    {
        TryGetValueNow(sessionId, key, out var result);
        return ValueTask.FromResult(result);
    }

    /// <inheritdoc />
    public bool TryGetValueNow(ReadOnlySpan<char> sessionId, ReadOnlySpan<char> key, out SessionRead result)
    {
        var entry = Touch(sessionId);
        result = entry is null ? default : new SessionRead(true, entry.Get(key));
        return true;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyDictionary<string, string>?> GetAllAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, string>?>(Touch(sessionId)?.GetAll());

    /// <inheritdoc />
    public ValueTask<bool> SetValuesAsync(string sessionId, IReadOnlyList<KeyValuePair<string, string>> values, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        var entry = Touch(sessionId);
        entry?.Set(values);
        return ValueTask.FromResult(entry is not null);
    }

    /// <inheritdoc />
    public ValueTask<bool> BindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken)
    {
        var entry = Touch(sessionId);
        entry?.Bind(binding, null);
        return ValueTask.FromResult(entry is not null);
    }

    /// <inheritdoc />
    public ValueTask UnbindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(sessionId, out var entry))
        {
            entry.Bind(null, binding);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionInfo>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return ValueTask.FromResult<IReadOnlyList<SessionInfo>>([.. _sessions.Values.Where(e => e.ExpiresAt > now).Take(limit).Select(e => e.Snapshot())]);
    }

    /// <inheritdoc />
    public ValueTask PublishNodeAsync(string nodeId, string address, TimeSpan ttl, CancellationToken cancellationToken)
    {
        _nodes[nodeId] = (address, Now + Ticks(ttl));
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<string?> GetNodeAddressAsync(string nodeId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_nodes.TryGetValue(nodeId, out var node) && node.ExpiresAt > Now ? node.Address : null);

    /// <inheritdoc />
    public void Dispose() => _sweep.Dispose();

    private long Now => _time.GetTimestamp();

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>The live entry, extended by its TTL (sliding expiry); an expired one is removed and not returned.</summary>
    private Entry? Touch(ReadOnlySpan<char> sessionId)
    {
        if (!_bySpan.TryGetValue(sessionId, out var entry))
        {
            return null;
        }

        var now = Now;
        if (!entry.TryExtend(now, now + Ticks(entry.Info.Ttl)))
        {
            _sessions.TryRemove(new KeyValuePair<string, Entry>(entry.Info.Id, entry));
            return null;
        }

        return entry;
    }

    private void Sweep()
    {
        var now = Now;
        foreach (var (id, entry) in _sessions)
        {
            if (entry.ExpiresAt <= now)
            {
                _sessions.TryRemove(new KeyValuePair<string, Entry>(id, entry));
            }
        }
    }

    /// <summary>One session: its record, its context and its expiry, changed under its own lock.</summary>
    private sealed class Entry(SessionInfo info, long expiresAt)
    {
        private readonly Lock _sync = new();
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private SessionBinding? _binding;
        private long _expiresAt = expiresAt;

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

        public void Set(IReadOnlyList<KeyValuePair<string, string>> values)
        {
            lock (_sync)
            {
                foreach (var (key, value) in values)
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
            }
        }

        /// <summary>Sets the binding to <paramref name="binding"/>, unless <paramref name="onlyIf"/> is given and is not the current one.</summary>
        public void Bind(SessionBinding? binding, SessionBinding? onlyIf)
        {
            lock (_sync)
            {
                if (onlyIf is null || _binding == onlyIf)
                {
                    _binding = binding;
                }
            }
        }

        public SessionInfo Snapshot()
        {
            lock (_sync)
            {
                return Info with { Binding = _binding };
            }
        }
    }
}
