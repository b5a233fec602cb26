namespace Mcpd.Client;

/// <summary>
/// Exponential backoff with jitter for re-establishing a lost connection (docs/protocol.md, "Heartbeat"): the delay before attempt n is
/// <c>min(MaxDelay, BaseDelay x Factor^(n-1))</c>, scaled by a random factor in [0.5, 1) so that many clients
/// that lost the same server do not come back in lockstep. After <see cref="MaxAttempts"/> failures the client gives up.
/// </summary>
/// <param name="BaseDelay">Delay before the first attempt (before jitter).</param>
/// <param name="Factor">Growth per attempt, at least 1.</param>
/// <param name="MaxDelay">Cap of the delay (before jitter).</param>
/// <param name="MaxAttempts">Attempts before giving up; 0 never reconnects.</param>
public sealed record ReconnectPolicy(TimeSpan BaseDelay, double Factor, TimeSpan MaxDelay, int MaxAttempts)
{
    /// <summary>0.5 s doubling up to 30 s, 10 attempts (about 2.5 minutes in all).</summary>
    public static ReconnectPolicy Default { get; } = new(TimeSpan.FromMilliseconds(500), 2, TimeSpan.FromSeconds(30), 10);

    /// <summary>The delay before attempt <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan DelayBefore(int attempt, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentNullException.ThrowIfNull(random);
        var raw = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(Math.Max(1, Factor), attempt - 1));
        return TimeSpan.FromMilliseconds(raw * (0.5 + (0.5 * random.NextDouble())));
    }
}
