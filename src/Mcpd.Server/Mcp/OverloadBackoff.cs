using Mcpd.Protocols.Mcp;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Load shedding with backoff, per connection: a connection whose requests are refused OVERLOADED is read again only
/// after a pause, doubling from 1 ms up to <see cref="IMcpRequestDispatcher.OverloadBackoff"/> while refusals go on, and gone
/// at its first request that is not refused. The refusal itself still leaves at once; what the pause stops is a
/// client that answers every OVERLOADED with the next request at full speed taking the CPU from everyone else.
/// A field of the connection's <see cref="McpRequestAnswerer"/>, not an object of its own.
/// </summary>
internal struct OverloadBackoff
{
    /// <summary>The current pause, in ticks; written by whoever answers, read by the read loop.</summary>
    private long _pauseTicks;

    /// <summary>How long the read loop waits before its next read.</summary>
    public TimeSpan Pause => TimeSpan.FromTicks(Volatile.Read(ref _pauseTicks));

    /// <summary>A request of the connection was answered <paramref name="status"/>; <paramref name="dispatcher"/> says the longest pause.</summary>
    public void Record(McpStatus status, IMcpRequestDispatcher dispatcher)
    {
        if (status != McpStatus.Overloaded)
        {
            if (_pauseTicks != 0)
            {
                Volatile.Write(ref _pauseTicks, 0);
            }

            return;
        }

        // Read only when refused: the limit is live configuration, not to be looked up for every answer.
        var limit = dispatcher.OverloadBackoff.Ticks;
        var current = Volatile.Read(ref _pauseTicks);
        Volatile.Write(ref _pauseTicks, Math.Min(limit, current == 0 ? TimeSpan.TicksPerMillisecond : 2 * current));
    }
}
