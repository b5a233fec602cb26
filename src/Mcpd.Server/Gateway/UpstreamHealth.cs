namespace Mcpd.Server.Gateway;

/// <summary>
/// The health model every upstream kind shares (docs/gateway.md, "Health"): the failures of its requests (in a row,
/// and when the last one was) and the state last reported, so that each change of state is logged once. The kind
/// decides the state from what only it knows (its connections or line, its breaker or quarantined units) and these.
/// </summary>
internal sealed class UpstreamHealth(TimeProvider time, UpstreamState initial)
{
    private readonly Lock _sync = new();
    private volatile UpstreamState _reported = initial;
    private int _consecutiveFailures;
    private long _lastFailureAt;
    private volatile bool _hasFailed;

    /// <summary>The state last reported.</summary>
    public UpstreamState Reported => _reported;

    /// <summary>True while the last request failed.</summary>
    public bool LastFailed => Volatile.Read(ref _consecutiveFailures) > 0;

    /// <summary>A request failed; true when it is the first since the last success.</summary>
    public bool RecordFailure()
    {
        Interlocked.Exchange(ref _lastFailureAt, time.GetTimestamp());
        _hasFailed = true;
        return Interlocked.Increment(ref _consecutiveFailures) == 1;
    }

    /// <summary>A request was answered; true when that ended a run of failures.</summary>
    public bool RecordSuccess() =>
        Volatile.Read(ref _consecutiveFailures) != 0 && Interlocked.Exchange(ref _consecutiveFailures, 0) != 0;

    /// <summary>True when a request failed less than <paramref name="window"/> ago.</summary>
    public bool FailedWithin(TimeSpan window) => _hasFailed && time.GetElapsedTime(Interlocked.Read(ref _lastFailureAt)) < window;

    /// <summary>
    /// Records the state <paramref name="assess"/> finds as the one reported; true, with it and the one before, when it
    /// changed (the caller logs the change). Assessed under the lock, so the last report holds the latest state.
    /// </summary>
    public bool TryReport<TOwner>(Func<TOwner, UpstreamState> assess, TOwner owner, out UpstreamState now, out UpstreamState previous)
    {
        lock (_sync)
        {
            now = assess(owner);
            previous = _reported;
            _reported = now;
            return now != previous;
        }
    }
}
