namespace Mcpd.Server.Devices;

/// <summary>
/// Who a Modbus request comes from: the client connection (Kestrel's id), so a shared resource such as an RTU bus
/// can serve its clients fairly, and log lines can name the origin.
/// </summary>
/// <param name="ConnectionId">The client connection's id.</param>
public readonly record struct ModbusCaller(string ConnectionId);
