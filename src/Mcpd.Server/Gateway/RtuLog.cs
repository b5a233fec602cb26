using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>Log events of the RTU bus upstreams (event ids 640..649).</summary>
internal static partial class RtuLog
{
    [LoggerMessage(EventId = 640, Message = "RTU bus {Bus} ({Line}) is {State}")]
    public static partial void StateChanged(ILogger logger, LogLevel level, string bus, string line, UpstreamState state);

    [LoggerMessage(EventId = 641, Level = LogLevel.Warning, Message = "RTU bus {Bus}: cannot open {Line} ({Reason}); next attempt in {Delay}")]
    public static partial void OpenFailed(ILogger logger, string bus, string line, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 642, Level = LogLevel.Warning, Message = "RTU bus {Bus}: the line failed ({Reason}); reopening")]
    public static partial void LineFailed(ILogger logger, string bus, string reason);

    [LoggerMessage(EventId = 643, Level = LogLevel.Warning, Message = "RTU bus {Bus}: unit {Unit} quarantined for {Backoff} after {Failures} requests without an answer; its requests are answered 0x0B at once")]
    public static partial void QuarantineEntered(ILogger logger, string bus, byte unit, TimeSpan backoff, int failures);

    [LoggerMessage(EventId = 644, Level = LogLevel.Information, Message = "RTU bus {Bus}: unit {Unit} answers again; quarantine lifted")]
    public static partial void QuarantineLeft(ILogger logger, string bus, byte unit);

    [LoggerMessage(EventId = 645, Level = LogLevel.Debug, Message = "RTU bus {Bus}: dropped a response from unit {Unit} with a bad CRC ({Count} in all)")]
    public static partial void CrcMismatch(ILogger logger, string bus, byte unit, long count);

    [LoggerMessage(EventId = 646, Level = LogLevel.Debug, Message = "RTU bus {Bus}: flushed {Bytes} stray bytes before a request")]
    public static partial void Flushed(ILogger logger, string bus, int bytes);

    [LoggerMessage(EventId = 647, Level = LogLevel.Debug, Message = "RTU bus {Bus}: dropped a frame from unit {Unit}, function {Function}, that does not answer the request to unit {Expected} (a late answer?)")]
    public static partial void UnexpectedFrame(ILogger logger, string bus, byte unit, byte function, byte expected);

    [LoggerMessage(EventId = 648, Level = LogLevel.Debug, Message = "RTU bus {Bus}: unit {Unit} did not answer function {Function} within {Timeout} (attempt {Attempt} of {Attempts})")]
    public static partial void Timeout(ILogger logger, string bus, byte unit, byte function, TimeSpan timeout, int attempt, int attempts);
}
