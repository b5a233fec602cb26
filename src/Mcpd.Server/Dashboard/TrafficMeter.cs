using System.Diagnostics.Metrics;
using System.Numerics;
using Mcpd.Server.Telemetry;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// Requests per second and latency percentiles per protocol, from the latency histograms that <c>/metrics</c> exports
/// (<see cref="McpdMetrics.ModbusDurationName"/>, <see cref="McpdMetrics.McpDurationName"/>): every answered request is
/// one measurement. A <see cref="MeterListener"/> hears them only while the dashboard watches (<see cref="Enable"/>),
/// and counts each into a per-thread array of log-linear buckets (four per octave from 1 µs: a percentile is exact to
/// within 12 %), so a request costs one array increment and no shared write.
/// </summary>
internal sealed class TrafficMeter : IDisposable
{
    /// <summary>Bucket 0 is below 1 µs; then four per octave, up to 2^40 µs (far past any timeout).</summary>
    private const int Buckets = 1 + (40 * 4);

    private static readonly string[] Protocols = ["modbus", "mcp"];

    private readonly MeterListener _listener = new();
    private readonly List<Instrument> _instruments = [];
    private readonly ThreadLocal<long[]> _counts = new(() => new long[Protocols.Length * Buckets], trackAllValues: true);
    private readonly long[] _previous = new long[Protocols.Length * Buckets];
    private bool _enabled;

    public TrafficMeter(McpdMetrics metrics)
    {
        _listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name is McpdMetrics.ModbusDurationName or McpdMetrics.McpDurationName)
            {
                lock (_instruments)
                {
                    _instruments.Add(instrument);
                }
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (_, seconds, _, state) => ((ProtocolCounter)state!).Count(seconds));
        _listener.Start();
    }

    /// <summary>Starts (true) or stops (false) hearing the latency measurements.</summary>
    public void Enable(bool enabled)
    {
        lock (_instruments)
        {
            if (enabled == _enabled)
            {
                return;
            }

            _enabled = enabled;
            foreach (var instrument in _instruments)
            {
                if (enabled)
                {
                    var protocol = instrument.Name == McpdMetrics.ModbusDurationName ? 0 : 1;
                    _listener.EnableMeasurementEvents(instrument, new ProtocolCounter(this, protocol));
                }
                else
                {
                    _listener.DisableMeasurementEvents(instrument);
                }
            }
        }
    }

    /// <summary>What was measured since the last call, over <paramref name="elapsed"/>: per protocol, rate and percentiles.</summary>
    public IReadOnlyDictionary<string, TrafficFigures> Collect(TimeSpan elapsed)
    {
        var now = new long[_previous.Length];
        foreach (var counts in _counts.Values)
        {
            for (var i = 0; i < now.Length; i++)
            {
                now[i] += Volatile.Read(ref counts[i]);
            }
        }

        var figures = new Dictionary<string, TrafficFigures>(StringComparer.Ordinal);
        for (var protocol = 0; protocol < Protocols.Length; protocol++)
        {
            var delta = new long[Buckets];
            for (var i = 0; i < Buckets; i++)
            {
                var index = (protocol * Buckets) + i;
                delta[i] = now[index] - _previous[index];
                _previous[index] = now[index];
            }

            var total = delta.Sum();
            figures[Protocols[protocol]] = new TrafficFigures(
                Math.Round(total / Math.Max(elapsed.TotalSeconds, 0.001), 1),
                Percentile(delta, total, 0.50), Percentile(delta, total, 0.90), Percentile(delta, total, 0.99), Percentile(delta, total, 1.0));
        }

        return figures;
    }

    public void Dispose()
    {
        _listener.Dispose();
        _counts.Dispose();
    }

    internal void Count(int protocol, double seconds) => _counts.Value![(protocol * Buckets) + Bucket(seconds)]++;

    /// <summary>The bucket of a duration: 0 below 1 µs, else 1 + 4 x octave + the quarter of the octave.</summary>
    private static int Bucket(double seconds)
    {
        var micros = seconds * 1e6;
        if (micros < 1)
        {
            return 0;
        }

        var whole = micros >= ulong.MaxValue ? ulong.MaxValue : (ulong)micros;
        var octave = BitOperations.Log2(whole);
        var quarter = octave >= 2 ? (int)((whole >> (octave - 2)) & 3) : (int)((whole << (2 - octave)) & 3);
        return Math.Min(1 + (octave * 4) + quarter, Buckets - 1);
    }

    /// <summary>The middle of the bucket that holds quantile <paramref name="q"/>, in microseconds; null with no requests.</summary>
    private static double? Percentile(long[] counts, long total, double q)
    {
        if (total == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                if (i == 0)
                {
                    return 0.5;
                }

                // Bucket i spans 2^octave x [1 + quarter/4, 1 + (quarter+1)/4) µs; its middle is an eighth above the start.
                var octave = (i - 1) / 4;
                var quarter = (i - 1) % 4;
                return Math.Round(Math.Pow(2, octave) * (1 + (quarter / 4.0) + 0.125), 1);
            }
        }

        return null;
    }
}

/// <summary>The state of one histogram's measurement events: which protocol's buckets it counts into.</summary>
internal sealed class ProtocolCounter(TrafficMeter meter, int protocol)
{
    public void Count(double seconds) => meter.Count(protocol, seconds);
}

/// <summary>One protocol's traffic over a second: requests per second and latency percentiles in microseconds (null: no request).</summary>
internal sealed record TrafficFigures(double Rps, double? P50Us, double? P90Us, double? P99Us, double? MaxUs);
