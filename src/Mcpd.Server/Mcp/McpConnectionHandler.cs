using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Mcp;

/// <summary>Kestrel entry point of the MCP listeners: admits the connection, then serves it with its framing.</summary>
internal sealed class McpConnectionHandler(
    McpServices services,
    IOptionsMonitor<McpServerOptions> options,
    RolePolicies policies,
    ILoggerFactory loggers)
{
    private readonly ILogger _audit = loggers.CreateLogger(SecurityLog.AuditCategory);
    private readonly LogThrottle _denials = new("refused MCP request", services.Time, loggers.CreateLogger<McpConnectionHandler>());

    public Task OnConnectedAsync(ConnectionContext connection, McpFraming framing)
    {
        var settings = options.CurrentValue;
        var listener = framing == McpFraming.Plain ? ListenerNames.Mcp : ListenerNames.McpCrc;
        // A client that presented a certificate (mcp:tls:clientCa) is allowed what its role allows; one that did not, what
        // mcp:anonymousRole allows, or everything when it is not set.
        var identity = connection.Features.Get<IClientIdentityFeature>()?.Identity
            ?? (settings.AnonymousRole is { } role ? ClientIdentity.Anonymous(role) : null);
        var authorization = identity is null ? null : new ClientAuthorization(identity, listener, policies, services.Metrics, _denials, services.Logger, _audit);
        var mcp = new McpConnection(connection, listener, services, settings, framing, authorization);
        if (!services.Connections.TryAdmit(mcp, settings.ConnectionLimits))
        {
            return Task.CompletedTask;
        }

        McpLog.Connected(services.Logger, connection.ConnectionId, connection.RemoteEndPoint, framing);
        connection.Features.Set<IMcpConnectionFeature>(mcp);
        return mcp.RunAsync();
    }
}
