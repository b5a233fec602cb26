namespace Mcpd.Server.Devices;

/// <summary>
/// A value generator on one register entry (<c>devices:N:registers:M:generator</c>): the device itself moves the value
/// on every update tick (<see cref="DeviceOptions.UpdateInterval"/>). Numbers are engineering units (raw x scale).
/// </summary>
public sealed class GeneratorOptions
{
    /// <summary>What the value does; required.</summary>
    public GeneratorKind? Kind { get; set; }

    /// <summary>Lowest value (engineering units).</summary>
    public double Min { get; set; }

    /// <summary>Highest value (engineering units).</summary>
    public double Max { get; set; } = 100;

    /// <summary>Sine and sawtooth: one full cycle; toggle: time between flips; counter and random walk: time between steps.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Counter: added per period; random walk: the largest move per period. Positive.</summary>
    public double Step { get; set; } = 1;

    /// <summary>Random walk: seed of its random sequence, for runs that repeat; null: a different walk each run.</summary>
    public int? Seed { get; set; }
}

/// <summary>The shapes a <see cref="GeneratorOptions"/> produces.</summary>
public enum GeneratorKind
{
    /// <summary>Holds the register's <c>value</c>: a client write lasts until the next tick.</summary>
    Constant,
    /// <summary>Adds <c>step</c> every period from the start value (<c>value</c>, else min); past max it wraps to min.</summary>
    Counter,
    /// <summary>min + (max - min) x (1 + sin(2 pi t / period)) / 2: starts mid-range, rising.</summary>
    Sine,
    /// <summary>Rises linearly from min to max over one period, then drops back to min.</summary>
    Sawtooth,
    /// <summary>Moves by a random amount in -step..+step every period, kept within min..max; starts at <c>value</c>, else mid-range.</summary>
    RandomWalk,
    /// <summary>Flips every period: a bit between off and on (starting at <c>value</c>), a register between min and max (starting at min).</summary>
    Toggle,
}
