namespace Mcpd.Server.Gateway;

/// <summary>
/// The circuit breaker of a Modbus TCP upstream (section <c>upstreams:NAME:tcp:breaker</c>): when at least
/// <see cref="MinimumThroughput"/> requests ran within <see cref="SamplingDuration"/> and the share of them the device
/// failed (no answer, broken connection, refused connect) reaches <see cref="FailureRatio"/>, the circuit opens for
/// <see cref="BreakDuration"/>: requests are answered 0x0B at once. Then one request or probe goes through (half-open);
/// its success closes the circuit, its failure opens it again.
/// </summary>
public sealed class UpstreamBreakerOptions
{
    /// <summary>Share of failed requests that opens the circuit, in (0, 1].</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Requests in the sampling window before the ratio counts (at least 2).</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The window the ratio is measured over (at least 0.5 s).</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open before a trial request (at least 0.5 s).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    internal void Check(string path, List<string> problems)
    {
        if (!(FailureRatio > 0 && FailureRatio <= 1))
        {
            problems.Add($"{path}:failureRatio: {FailureRatio} is outside (0, 1]");
        }

        if (MinimumThroughput is < 2 or > 100000)
        {
            problems.Add($"{path}:minimumThroughput: {MinimumThroughput} is outside 2..100000");
        }

        CheckAtLeastHalfSecond(SamplingDuration, $"{path}:samplingDuration", problems);
        CheckAtLeastHalfSecond(BreakDuration, $"{path}:breakDuration", problems);
    }

    private static void CheckAtLeastHalfSecond(TimeSpan value, string path, List<string> problems)
    {
        // The window is counted in tenths (UpstreamCircuit): under half a second they hold too few attempts to judge.
        if (value < TimeSpan.FromMilliseconds(500) || value > TimeSpan.FromDays(1))
        {
            problems.Add($"{path}: {value} is outside 00:00:00.5..1.00:00:00");
        }
    }
}
