namespace Mcpd.Server.Gateway;

/// <summary>The periodic work of upstreams (pool maintenance, probes) stops when its owner closes.</summary>
internal static class UpstreamTimers
{
    /// <summary>Waits for the next tick; false once <paramref name="closing"/> is cancelled or the timer disposed.</summary>
    public static async Task<bool> WaitForTickAsync(PeriodicTimer timer, CancellationToken closing)
    {
        try
        {
            return await timer.WaitForNextTickAsync(closing);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
