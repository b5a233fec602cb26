using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Modbus;

/// <summary>
/// Kestrel entry point of the Modbus TCP listeners: admits the connection, then serves it. On the Modbus/TCP Security
/// listener every request is first decided by the client's role (<see cref="ClientAuthorization"/>); on the plain
/// listener nothing is checked, and nothing is spent on checking.
/// </summary>
internal sealed class ModbusConnectionHandler(
    ModbusServices services,
    IOptionsMonitor<ModbusServerOptions> options,
    RolePolicies policies,
    ILoggerFactory loggers)
{
    private readonly ILogger _audit = loggers.CreateLogger(SecurityLog.AuditCategory);
    private readonly LogThrottle _denials = new("refused Modbus request", services.Time, loggers.CreateLogger<ModbusConnectionHandler>());

    /// <summary>Serves <paramref name="connection"/>, accepted by listener <paramref name="listener"/>.</summary>
    public Task OnConnectedAsync(ConnectionContext connection, string listener)
    {
        var settings = options.CurrentValue;
        // Modbus/TCP Security checks every client (one without a role is allowed nothing); the plain listener only
        // when modbus:anonymousRole names the role of its clients.
        var identity = listener == ListenerNames.ModbusSecure
            ? connection.Features.Get<IClientIdentityFeature>()?.Identity ?? ClientIdentity.Anonymous(null)
            : settings.AnonymousRole is { } role ? ClientIdentity.Anonymous(role) : null;
        var authorization = identity is null ? null : new ClientAuthorization(identity, listener, policies, services.Metrics, _denials, services.Logger, _audit);
        var modbus = new ModbusConnection(connection, listener, services, settings, authorization);
        if (!services.Connections.TryAdmit(modbus, settings.ConnectionLimits))
        {
            return Task.CompletedTask;
        }

        ModbusLog.Connected(services.Logger, connection.ConnectionId, connection.RemoteEndPoint);
        // One state machine per connection: RunAsync owns the rest of the connection's life, registry removal included.
        return modbus.RunAsync();
    }
}
