using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>Log events of Modbus TCP upstreams (event ids 620..639).</summary>
internal static partial class TcpUpstreamLog
{
    [LoggerMessage(EventId = 620, Level = LogLevel.Information, Message = "Upstream {Upstream} ({Address}) is {State} (was {Previous}): {Reason}")]
    public static partial void Recovered(ILogger logger, string upstream, string address, UpstreamState state, UpstreamState previous, string reason);

    [LoggerMessage(EventId = 621, Level = LogLevel.Warning, Message = "Upstream {Upstream} ({Address}) is {State} (was {Previous}): {Reason}")]
    public static partial void Worsened(ILogger logger, string upstream, string address, UpstreamState state, UpstreamState previous, string reason);

    [LoggerMessage(EventId = 622, Level = LogLevel.Warning, Message = "Upstream {Upstream}: cannot connect to {Address}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string upstream, string address, string reason);

    [LoggerMessage(EventId = 623, Level = LogLevel.Debug, Message = "Upstream {Upstream}: connection {Connection} to {Address} opened ({Pooled} in the pool)")]
    public static partial void Connected(ILogger logger, string upstream, int connection, string address, int pooled);

    [LoggerMessage(EventId = 624, Level = LogLevel.Debug, Message = "Upstream {Upstream}: connection {Connection} closed: {Reason}")]
    public static partial void Closed(ILogger logger, string upstream, int connection, string reason);

    [LoggerMessage(EventId = 625, Level = LogLevel.Warning, Message = "Upstream {Upstream}: connection {Connection} closed: {Reason}; the requests on it were answered 0x0B")]
    public static partial void Broken(ILogger logger, string upstream, int connection, string reason);

    [LoggerMessage(EventId = 626, Level = LogLevel.Debug, Message = "Upstream {Upstream}: unit {Unit} did not answer function 0x{Function:X2}: {Reason}")]
    public static partial void NoAnswer(ILogger logger, string upstream, int unit, int function, string reason);

    [LoggerMessage(EventId = 628, Level = LogLevel.Warning, Message = "Upstream {Upstream}: unit {Unit} does not answer (nothing within {Timeout} while the device answered others); its requests are answered 0x0B, and the device stays in service")]
    public static partial void UnitSilent(ILogger logger, string upstream, int unit, TimeSpan timeout);

    [LoggerMessage(EventId = 629, Level = LogLevel.Information, Message = "Upstream {Upstream}: unit {Unit} answers again")]
    public static partial void UnitAnswers(ILogger logger, string upstream, int unit);

    [LoggerMessage(EventId = 627, Level = LogLevel.Debug, Message = "Upstream {Upstream}: reconnect attempt {Attempt} to {Address} failed: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, string upstream, int attempt, string address, string reason);
}
