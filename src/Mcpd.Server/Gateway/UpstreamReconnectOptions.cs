namespace Mcpd.Server.Gateway;

/// <summary>
/// Reconnecting an unreachable Modbus TCP device (section <c>upstreams:NAME:tcp:reconnect</c>): exponential backoff
/// with jitter (<see cref="Mcpd.Client.ReconnectPolicy"/>) from <see cref="BaseDelay"/>, doubling up to
/// <see cref="MaxDelay"/>, for as long as the device stays away.
/// </summary>
public sealed class UpstreamReconnectOptions
{
    /// <summary>Delay before the first attempt (before jitter).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Cap of the delay (before jitter). Short by default: a connect attempt to a device that is away costs a SYN, and
    /// a device that comes back is then used within this delay.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    internal void Check(string path, List<string> problems)
    {
        TcpUpstreamOptions.CheckPositive(BaseDelay, $"{path}:baseDelay", problems);
        if (MaxDelay < BaseDelay)
        {
            problems.Add($"{path}:maxDelay: {MaxDelay} is less than baseDelay ({BaseDelay})");
        }
    }
}
