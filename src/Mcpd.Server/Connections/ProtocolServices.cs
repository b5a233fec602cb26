namespace Mcpd.Server.Connections;

/// <summary>
/// What every connection of a protocol shares, the read loop's part: the registry that admits it and the clock. Each
/// protocol's services (<c>ModbusServices</c>, <c>McpServices</c>) add theirs, so a connection keeps one reference for
/// all of them.
/// </summary>
/// <param name="Connections">The registry of live connections.</param>
/// <param name="Time">The clock of timestamps and timers.</param>
internal abstract record ProtocolServices(ConnectionRegistry Connections, TimeProvider Time);
