using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Telemetry;

/// <summary>
/// Bounds the log volume one kind of warning can reach when peers cause it (refused connections, rejected frames):
/// at most <see cref="Limit"/> lines per <see cref="Interval"/>; the lines beyond are counted, and the count is
/// logged in one line when the next interval begins, so a flood costs a few lines, and nothing is silently dropped.
/// </summary>
public sealed partial class LogThrottle(string kind, TimeProvider time, ILogger logger)
{
    /// <summary>Lines of this kind written per interval at most.</summary>
    public const int Limit = 20;

    /// <summary>The interval.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private readonly Lock _sync = new();
    private long _windowStart = time.GetTimestamp();
    private int _written;
    private long _suppressed;

    /// <summary>True when a line of this kind may be written now; false counts it as suppressed.</summary>
    public bool ShouldLog()
    {
        long suppressedBefore = 0;
        bool allowed;
        lock (_sync)
        {
            var now = time.GetTimestamp();
            if (time.GetElapsedTime(_windowStart, now) >= Interval)
            {
                (suppressedBefore, _suppressed, _written, _windowStart) = (_suppressed, 0, 0, now);
            }

            allowed = _written < Limit;
            if (allowed)
            {
                _written++;
            }
            else
            {
                _suppressed++;
            }
        }

        if (suppressedBefore > 0)
        {
            LogSuppressed(logger, suppressedBefore, kind, Interval, Limit);
        }

        return allowed;
    }

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "{Count} more '{Kind}' lines were suppressed in the last {Interval} (at most {Limit} are written per interval)")]
    private static partial void LogSuppressed(ILogger logger, long count, string kind, TimeSpan interval, int limit);
}
