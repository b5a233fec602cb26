namespace Mcpd.Server.Connections;

/// <summary>The limits a listener admits a new connection under (docs/configuration.md, <c>modbus</c> and <c>mcp</c>).</summary>
/// <param name="MaxConnections">Connections of the listener at once.</param>
/// <param name="Policy">What happens to a newcomer at <paramref name="MaxConnections"/>.</param>
/// <param name="MaxConnectionsPerAddress">Connections of the listener from one remote IP address at once; beyond, the newcomer is refused; 0: no limit.</param>
/// <param name="ProtectAfterRequest">A connection that completed a request this recently is never closed to admit another.</param>
/// <param name="IdleTimeout">Silence (no complete frame) after which the connection is closed; zero: never.</param>
public readonly record struct ConnectionLimits(
    int MaxConnections, ConnectionLimitPolicy Policy, int MaxConnectionsPerAddress, TimeSpan ProtectAfterRequest, TimeSpan IdleTimeout);
