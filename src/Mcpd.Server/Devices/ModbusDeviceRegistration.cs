namespace Mcpd.Server.Devices;

/// <summary>A device supplied in code by a library user, registered in DI; it takes precedence over config.</summary>
/// <param name="Unit">Unit id, 1..247.</param>
/// <param name="Device">The device.</param>
public sealed record ModbusDeviceRegistration(byte Unit, IModbusDevice Device);
