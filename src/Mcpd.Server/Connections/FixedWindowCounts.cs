namespace Mcpd.Server.Connections;

/// <summary>
/// Counts per key (a remote address, a connection) in fixed windows: a key's window starts with its first count and
/// lasts an interval; after that the key counts from 0 again. Ended windows are pruned at most once per interval, so
/// the table holds only keys counted in about the last two intervals. Not thread-safe: callers hold their own lock.
/// </summary>
internal sealed class FixedWindowCounts<TKey>(TimeProvider time)
    where TKey : notnull
{
    private readonly Dictionary<TKey, Window> _windows = [];
    private long _nextPrune;

    /// <summary>What <paramref name="key"/> counted in its window of <paramref name="interval"/>, and the time left in it (zero: no window).</summary>
    public (int Count, TimeSpan Left) Peek(TKey key, TimeSpan interval)
    {
        var now = time.GetTimestamp();
        Prune(now, interval);
        if (!_windows.TryGetValue(key, out var window))
        {
            return (0, TimeSpan.Zero);
        }

        var elapsed = time.GetElapsedTime(window.Start, now);
        return elapsed < interval ? (window.Count, interval - elapsed) : (0, TimeSpan.Zero);
    }

    /// <summary>Counts one for <paramref name="key"/>, starting a window when it has none running; returns its count now.</summary>
    public int Add(TKey key, TimeSpan interval)
    {
        var now = time.GetTimestamp();
        if (!_windows.TryGetValue(key, out var window) || time.GetElapsedTime(window.Start, now) >= interval)
        {
            _windows[key] = window = new Window(now);
        }

        return ++window.Count;
    }

    private void Prune(long now, TimeSpan interval)
    {
        if (now < _nextPrune)
        {
            return;
        }

        foreach (var (key, _) in _windows.Where(w => time.GetElapsedTime(w.Value.Start, now) >= interval).ToList())
        {
            _windows.Remove(key);
        }

        _nextPrune = now + (long)(interval.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>Counts since <see cref="Start"/>, a timestamp of the <see cref="TimeProvider"/>.</summary>
    private sealed class Window(long start)
    {
        public long Start { get; } = start;

        public int Count { get; set; }
    }
}
