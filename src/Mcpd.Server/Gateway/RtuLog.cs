using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>Log events of the RTU bus upstreams (event ids 700..719).</summary>
internal static partial class RtuLog
{
    [LoggerMessage(EventId = 700, Message = "RTU bus {Bus} ({Line}) is {State}")]
    public static partial void StateChanged(ILogger logger, LogLevel level, string bus, string line, UpstreamState state);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "RTU bus {Bus}: cannot open {Line} ({Reason}); next attempt in {Delay}")]
    public static partial void OpenFailed(ILogger logger, string bus, string line, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "RTU bus {Bus}: the line failed ({Reason}); reopening")]
    public static partial void LineFailed(ILogger logger, string bus, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "RTU bus {Bus}: unit {Unit} quarantined for {Backoff} after {Failures} requests without an answer; its requests are answered 0x0B at once")]
    public static partial void QuarantineEntered(ILogger logger, string bus, byte unit, TimeSpan backoff, int failures);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information, Message = "RTU bus {Bus}: unit {Unit} answers again; quarantine lifted")]
    public static partial void QuarantineLeft(ILogger logger, string bus, byte unit);

    [LoggerMessage(EventId = 705, Level = LogLevel.Debug, Message = "RTU bus {Bus}: dropped a response from unit {Unit} with a bad CRC ({Count} in all)")]
    public static partial void CrcMismatch(ILogger logger, string bus, byte unit, long count);

    [LoggerMessage(EventId = 706, Level = LogLevel.Debug, Message = "RTU bus {Bus}: flushed {Bytes} stray bytes before a request")]
    public static partial void Flushed(ILogger logger, string bus, int bytes);

    [LoggerMessage(EventId = 707, Level = LogLevel.Debug, Message = "RTU bus {Bus}: dropped a frame from unit {Unit}, function {Function}, that does not answer the request to unit {Expected} (a late answer?)")]
    public static partial void UnexpectedFrame(ILogger logger, string bus, byte unit, byte function, byte expected);

    [LoggerMessage(EventId = 708, Level = LogLevel.Debug, Message = "RTU bus {Bus}: unit {Unit} did not answer function {Function} within {Timeout}")]
    public static partial void Timeout(ILogger logger, string bus, byte unit, byte function, TimeSpan timeout);
}
