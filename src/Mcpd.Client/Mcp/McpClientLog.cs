using Microsoft.Extensions.Logging;

namespace Mcpd.Client.Mcp;

/// <summary>Log events of <see cref="McpClient"/> (event ids 500..599).</summary>
internal static partial class McpClientLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "MCP connection to {Server} lost ({Reason}); reconnecting")]
    public static partial void Disconnected(ILogger logger, string server, string reason);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "MCP connection to {Server} re-established after {Attempts} attempt(s)")]
    public static partial void Reconnected(ILogger logger, string server, int attempts);

    [LoggerMessage(EventId = 502, Level = LogLevel.Critical, Message = "MCP connection to {Server} given up after {Attempts} attempts: {Reason}")]
    public static partial void GaveUp(ILogger logger, string server, int attempts, string reason);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "The handler of {Method} failed (trace {TraceId}); answered INTERNAL")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string method, string traceId);
}
