namespace Mcpd.Server.Devices;

/// <summary>
/// The value of one generated register over time, in engineering units, always within min..max. Sine, sawtooth,
/// toggle and constant are functions of the time since the simulation started; counter and random walk step once per
/// period and remember where they are. Callers serialise calls (the bank's lock).
/// </summary>
internal sealed class ValueGenerator
{
    /// <summary>A random walk catches up at most this many missed steps at once (after a stalled host); a bounded walk
    /// this long has forgotten where it was, so more would only cost time.</summary>
    private const int MaxCatchUpSteps = 10_000;

    private readonly GeneratorKind _kind;
    private readonly double _min;
    private readonly double _max;
    private readonly double _step;
    private readonly TimeSpan _period;
    private readonly double _start;
    private readonly Random? _random;
    private double _current;
    private long _stepsTaken;

    /// <summary>
    /// Creates a generator from validated options; <paramref name="start"/> is where constant, counter, random walk and
    /// toggle begin (the register's value, already defaulted by the caller). Bits pass min 0, max 1.
    /// </summary>
    public ValueGenerator(GeneratorOptions options, double min, double max, double start)
    {
        _kind = options.Kind ?? GeneratorKind.Constant;
        (_min, _max, _step, _period, _start) = (min, max, options.Step, options.Period, start);
        _current = start;
        if (_kind == GeneratorKind.RandomWalk)
        {
            // Simulated process values, not secrets: a seeded, repeatable sequence is the point.
#pragma warning disable CA5394
            _random = options.Seed is { } seed ? new Random(seed) : new Random();
#pragma warning restore CA5394
        }
    }

    /// <summary>The value at <paramref name="elapsed"/> since the simulation started; later calls pass later times.</summary>
    public double ValueAt(TimeSpan elapsed)
    {
        var periods = elapsed / _period;
        switch (_kind)
        {
            case GeneratorKind.Sine:
                return _min + ((_max - _min) * (1 + Math.Sin(2 * Math.PI * periods)) / 2);
            case GeneratorKind.Sawtooth:
                return _min + ((_max - _min) * (periods - Math.Floor(periods)));
            case GeneratorKind.Toggle:
                // Alternates between the start and its mirror: min <-> max for registers, off <-> on for bits.
                return (long)Math.Floor(periods) % 2 == 0 ? _start : _min + _max - _start;
            case GeneratorKind.Counter:
                _current = Count(_current, StepsDue(periods));
                return _current;
            case GeneratorKind.RandomWalk:
                for (var steps = Math.Min(StepsDue(periods), MaxCatchUpSteps); steps > 0; steps--)
                {
#pragma warning disable CA5394 // see the constructor
                    _current = Math.Clamp(_current + ((_random!.NextDouble() * 2) - 1) * _step, _min, _max);
#pragma warning restore CA5394
                }

                return _current;
            default:
                return _start;
        }
    }

    /// <summary>Steps whose period has ended since the last call (never negative, even if a tick runs late).</summary>
    private long StepsDue(double periods)
    {
        var due = Math.Max(0, (long)Math.Floor(periods) - _stepsTaken);
        _stepsTaken += due;
        return due;
    }

    /// <summary>
    /// The counter <paramref name="steps"/> steps after <paramref name="current"/>: + step each, and past max back
    /// to min, in constant time (a cycle is min, min + step, ... up to max).
    /// </summary>
    private double Count(double current, long steps)
    {
        // A tolerance, so 0.1-steps land on max instead of just short of it.
        const double Tolerance = 1e-9;
        var beforeWrap = (long)Math.Floor(((_max - current) / _step) + Tolerance) + 1;
        if (steps < beforeWrap)
        {
            return current + (steps * _step);
        }

        var cycle = (long)Math.Floor(((_max - _min) / _step) + Tolerance) + 1;
        return _min + ((steps - beforeWrap) % cycle * _step);
    }
}
