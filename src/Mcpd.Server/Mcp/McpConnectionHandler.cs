using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Mcp;

/// <summary>Kestrel entry point of the MCP listeners: admits the connection, then serves it with its framing.</summary>
internal sealed class McpConnectionHandler(
    McpServices services,
    ConnectionRegistry connections,
    IOptionsMonitor<McpServerOptions> options,
    TimeProvider time,
    ILogger<McpConnectionHandler> logger)
{
    public Task OnConnectedAsync(ConnectionContext connection, McpFraming framing)
    {
        var settings = options.CurrentValue;
        var listener = framing == McpFraming.Plain ? ListenerNames.Mcp : ListenerNames.McpCrc;
        var tracked = connections.TryAdmit(connection, listener, settings.ConnectionLimits);
        if (tracked is null)
        {
            return Task.CompletedTask;
        }

        McpLog.Connected(logger, connection.ConnectionId, connection.RemoteEndPoint, framing);
        var mcp = new McpConnection(connection, tracked, connections, services, settings, framing, time, logger);
        tracked.Peer = mcp;
        connection.Features.Set<IMcpConnectionFeature>(mcp);
        return mcp.RunAsync();
    }
}
