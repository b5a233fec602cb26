namespace Mcpd.Server.Gateway;

/// <summary>What an attempt at the device proves about it, for the circuit breaker.</summary>
internal enum AttemptVerdict
{
    /// <summary>The device answered (an exception PDU too).</summary>
    Answered,

    /// <summary>The device did not answer, its connection broke, or it refused to connect.</summary>
    Failed,

    /// <summary>Nothing about the device: mcpd's own limit (0x0A), a client that went away, a silent unit.</summary>
    Unproven,
}

/// <summary>Where the circuit of an upstream stands.</summary>
internal enum CircuitPosition
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>
/// The circuit breaker of one Modbus TCP upstream (docs/gateway.md, "Circuit breaker"): the failure ratio of the
/// attempts in a sliding window of <see cref="UpstreamBreakerOptions.SamplingDuration"/> (ten buckets) opens it for
/// <see cref="UpstreamBreakerOptions.BreakDuration"/>, once at least <see cref="UpstreamBreakerOptions.MinimumThroughput"/>
/// attempts were counted; then one attempt at a time is a trial (half-open) whose answer closes it and whose failure
/// opens it again. The semantics of Polly's advanced circuit breaker, which this replaced on the request path: Polly's
/// asynchronous pipeline was the largest managed cost of a gateway request (docs/performance.md, issue 13). A check
/// and a record each take one uncontended lock and allocate nothing.
/// </summary>
/// <remarks>
/// Invariants: in <see cref="CircuitPosition.HalfOpen"/> at most one trial is out (<see cref="_trialOut"/>); an
/// <see cref="AttemptVerdict.Unproven"/> outcome is never counted, and as the trial it hands the trial to the next
/// attempt. Changes of position are reported through the callback outside the lock, in the order they happened.
/// </remarks>
internal sealed class UpstreamCircuit
{
    private const int Buckets = 10;

    private readonly UpstreamBreakerOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string> _changed;
    private readonly long _bucketTicks;
    private readonly long _breakTicks;
    private readonly Lock _sync = new();
    private readonly long[] _bucketStart = new long[Buckets];
    private readonly int[] _attempts = new int[Buckets];
    private readonly int[] _failures = new int[Buckets];
    private volatile CircuitPosition _position;
    private long _openedAt;
    private bool _trialOut;

    /// <param name="options">The breaker's settings (checked by <see cref="UpstreamBreakerOptions"/>).</param>
    /// <param name="time">The clock.</param>
    /// <param name="changed">Told the reason of every change of position.</param>
    public UpstreamCircuit(UpstreamBreakerOptions options, TimeProvider time, Action<string> changed)
    {
        _options = options;
        _time = time;
        _changed = changed;
        _bucketTicks = Math.Max(1, (long)(options.SamplingDuration.TotalSeconds * time.TimestampFrequency / Buckets));
        _breakTicks = (long)(options.BreakDuration.TotalSeconds * time.TimestampFrequency);
        Array.Fill(_bucketStart, long.MinValue);
    }

    public CircuitPosition Position => _position;

    /// <summary>
    /// May an attempt go to the device now? Closed: yes. Open: no, until the break has lasted its duration; then the
    /// circuit is half-open and this attempt is its trial (<paramref name="trial"/>). Half-open: only as the one trial.
    /// </summary>
    public bool TryEnter(out bool trial)
    {
        trial = false;
        if (_position == CircuitPosition.Closed)
        {
            return true;
        }

        string? report = null;
        lock (_sync)
        {
            switch (_position)
            {
                case CircuitPosition.Closed:
                    return true;
                case CircuitPosition.Open when _time.GetTimestamp() - _openedAt >= _breakTicks:
                    _position = CircuitPosition.HalfOpen;
                    report = "the circuit is half-open: the next request is a trial";
                    break;
                case CircuitPosition.HalfOpen when !_trialOut:
                    break;
                default:
                    return false;
            }

            _trialOut = trial = true;
        }

        if (report is not null)
        {
            _changed(report);
        }

        return true;
    }

    /// <summary>Counts the outcome of an attempt let in by <see cref="TryEnter"/> (with its <paramref name="trial"/>).</summary>
    public void Record(AttemptVerdict verdict, bool trial)
    {
        string? report = null;
        lock (_sync)
        {
            if (trial)
            {
                _trialOut = false;
                if (_position == CircuitPosition.HalfOpen)
                {
                    switch (verdict)
                    {
                        case AttemptVerdict.Answered:
                            CloseLocked();
                            report = "the circuit closed: the device answered";
                            break;
                        case AttemptVerdict.Failed:
                            OpenLocked();
                            report = OpenedReason;
                            break;
                    }
                }
            }
            else if (verdict != AttemptVerdict.Unproven && _position == CircuitPosition.Closed && Count(verdict == AttemptVerdict.Failed))
            {
                OpenLocked();
                report = OpenedReason;
            }
        }

        if (report is not null)
        {
            _changed(report);
        }
    }

    /// <summary>Closes the circuit and forgets what was counted (the device accepts connections again).</summary>
    public void Close()
    {
        lock (_sync)
        {
            if (_position == CircuitPosition.Closed)
            {
                return;
            }

            CloseLocked();
        }

        _changed("the circuit closed: the device accepts connections again");
    }

    private string OpenedReason => $"the circuit opened for {_options.BreakDuration} after repeated failures";

    /// <summary>Adds one attempt to the window; true when the failures now reach the ratio over enough attempts.</summary>
    private bool Count(bool failed)
    {
        var now = _time.GetTimestamp();
        var bucket = (int)((ulong)(now / _bucketTicks) % Buckets);
        var start = now - (now % _bucketTicks);
        if (_bucketStart[bucket] != start)
        {
            (_bucketStart[bucket], _attempts[bucket], _failures[bucket]) = (start, 0, 0);
        }

        _attempts[bucket]++;
        if (!failed)
        {
            return false;
        }

        _failures[bucket]++;
        int attempts = 0, failures = 0;
        var oldest = start - ((Buckets - 1) * _bucketTicks);
        for (var i = 0; i < Buckets; i++)
        {
            if (_bucketStart[i] >= oldest)
            {
                attempts += _attempts[i];
                failures += _failures[i];
            }
        }

        return attempts >= _options.MinimumThroughput && failures >= _options.FailureRatio * attempts;
    }

    private void OpenLocked()
    {
        _position = CircuitPosition.Open;
        _openedAt = _time.GetTimestamp();
    }

    private void CloseLocked()
    {
        _position = CircuitPosition.Closed;
        _trialOut = false;
        Array.Fill(_bucketStart, long.MinValue);
    }
}
