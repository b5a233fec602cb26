namespace Mcpd.Server.Gateway;

/// <summary>
/// Per-unit answer health of an RTU bus. A unit that misses <see cref="RtuQuarantineOptions.Failures"/> responses
/// in a row is quarantined: its requests are answered 0x0B at once until the backoff expires, so a dead slave
/// costs the bus nothing (a timeout per request would stall every other unit behind it). When the backoff expires
/// the next request is a trial: an answer lifts the quarantine, another timeout doubles the backoff.
/// </summary>
internal sealed class RtuUnitQuarantine(RtuQuarantineOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly int[] _failures = new int[256];
    private readonly int[] _level = new int[256];
    private readonly long[] _until = new long[256];
    private int _quarantined;

    /// <summary>Units in quarantine (their backoff may have expired, awaiting the trial).</summary>
    public int QuarantinedCount
    {
        get
        {
            lock (_lock)
            {
                return _quarantined;
            }
        }
    }

    /// <summary>True when <paramref name="unit"/> must be answered 0x0B without touching the bus.</summary>
    public bool IsQuarantined(byte unit)
    {
        lock (_lock)
        {
            return _level[unit] > 0 && time.GetTimestamp() < _until[unit];
        }
    }

    /// <summary>The unit answered; true when that lifted its quarantine.</summary>
    public bool RecordAnswer(byte unit)
    {
        lock (_lock)
        {
            _failures[unit] = 0;
            if (_level[unit] == 0)
            {
                return false;
            }

            _level[unit] = 0;
            _quarantined--;
            return true;
        }
    }

    /// <summary>The unit did not answer in time; the quarantine it now enters (or re-enters), or null.</summary>
    public TimeSpan? RecordTimeout(byte unit)
    {
        lock (_lock)
        {
            _failures[unit]++;
            if (options.Failures == 0 || _failures[unit] < options.Failures)
            {
                return null;
            }

            if (_level[unit]++ == 0)
            {
                _quarantined++;
            }

            var backoff = TimeSpan.FromTicks((long)Math.Min(options.MaxDelay.Ticks, options.BaseDelay.Ticks * Math.Pow(2, Math.Min(_level[unit] - 1, 30))));
            _until[unit] = time.GetTimestamp() + (long)(backoff.TotalSeconds * time.TimestampFrequency);
            return backoff;
        }
    }

    /// <summary>Consecutive timeouts of <paramref name="unit"/>.</summary>
    public int Failures(byte unit)
    {
        lock (_lock)
        {
            return _failures[unit];
        }
    }
}
