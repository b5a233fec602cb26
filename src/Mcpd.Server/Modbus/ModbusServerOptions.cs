using Mcpd.Server.Connections;

namespace Mcpd.Server.Modbus;

/// <summary>The Modbus TCP listener (config section <c>modbus</c>).</summary>
public sealed class ModbusServerOptions
{
    /// <summary>TCP port; 502 is the IANA port of Modbus, 0 picks a free one.</summary>
    public int Port { get; set; } = 502;

    /// <summary>
    /// Address to listen on: "*" (all interfaces, IPv4 and IPv6), "localhost", or an IP address. Loopback by default:
    /// plain Modbus has no authentication, so any client that reaches it may write every register (docs/security.md).
    /// </summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Most connections served at once; see <see cref="ConnectionLimitPolicy"/>.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>What happens to a new connection at <see cref="MaxConnections"/>.</summary>
    public ConnectionLimitPolicy ConnectionLimitPolicy { get; set; } = ConnectionLimitPolicy.CloseOldestIdle;

    /// <summary>Most connections from one remote IP address at once; the next is refused. 0: no limit (behind a proxy).</summary>
    public int MaxConnectionsPerAddress { get; set; } = 512;

    /// <summary>With <see cref="ConnectionLimitPolicy.CloseOldestIdle"/>: a connection that completed a request this recently is never closed to admit another.</summary>
    public TimeSpan ProtectAfterRequest { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connection that sends nothing for this long is closed; zero disables.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Transactions one connection may have waiting on a device that answers asynchronously (a gateway); the next
    /// one answers exception 06 (server busy). Simulated devices answer at once and never reach it.
    /// </summary>
    public int MaxInFlightPerConnection { get; set; } = 16;

    /// <summary>The Modbus/TCP Security listener beside this one (port 802), off unless <c>modbus:tls:port</c> is set.</summary>
    public ModbusTlsOptions Tls { get; set; } = new();

    /// <summary>
    /// The role (of <c>security:roles</c>) of clients of the plain listener, who prove no identity: absent, they are not
    /// checked and may do everything; set (e.g. a read-only role), their requests are decided as a certificate's are.
    /// </summary>
    public string? AnonymousRole { get; set; }

    /// <summary>How a request for a unit id with no device is answered.</summary>
    public UnknownUnitPolicy UnknownUnit { get; set; } = UnknownUnitPolicy.TargetFailedToRespond;

    /// <summary>The limits a new connection is admitted under.</summary>
    internal ConnectionLimits ConnectionLimits => new(MaxConnections, ConnectionLimitPolicy, MaxConnectionsPerAddress, ProtectAfterRequest, IdleTimeout);
}
