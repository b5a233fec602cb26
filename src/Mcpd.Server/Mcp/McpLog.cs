using System.Net;
using Mcpd.Protocols.Mcp;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>Log events of the MCP listeners (event ids 300..399).</summary>
internal static partial class McpLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId} from {RemoteEndPoint} opened ({Framing} framing)")]
    public static partial void Connected(ILogger logger, string connectionId, EndPoint? remoteEndPoint, McpFraming framing);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId} from {RemoteEndPoint} closed")]
    public static partial void Disconnected(ILogger logger, string connectionId, EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "MCP connection {ConnectionId} from {RemoteEndPoint}: {Problem}; answered ERROR {Status} and closed the connection")]
    public static partial void FrameRejected(ILogger logger, string connectionId, EndPoint? remoteEndPoint, string problem, McpStatus status);

    [LoggerMessage(EventId = 303, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId}: request {RequestId} is malformed ({Problem}); answered BAD_REQUEST")]
    public static partial void RequestMalformed(ILogger logger, string connectionId, uint requestId, string problem);

    [LoggerMessage(EventId = 304, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId}: the CRC framing dropped {Bytes} bytes (bad CRC, bad length or noise) and resynchronised")]
    public static partial void CrcResynchronised(ILogger logger, string connectionId, long bytes);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId} ended by the transport: {Reason}")]
    public static partial void TransportEnded(ILogger logger, string connectionId, string reason);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "MCP connection {ConnectionId}: the peer sent ERROR {Status}: {Message}")]
    public static partial void PeerError(ILogger logger, string connectionId, McpStatus status, string message);

    [LoggerMessage(EventId = 307, Level = LogLevel.Error, Message = "MCP connection {ConnectionId}: method {Method} failed; answered INTERNAL")]
    public static partial void MethodFailed(ILogger logger, Exception exception, string connectionId, string method);

    [LoggerMessage(EventId = 308, Level = LogLevel.Debug, Message = "MCP connection {ConnectionId}: request {RequestId} {Method} goes to {Target}")]
    public static partial void Dispatched(ILogger logger, string connectionId, uint requestId, string method, string target);
}
