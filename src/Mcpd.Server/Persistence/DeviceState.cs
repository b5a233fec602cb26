namespace Mcpd.Server.Persistence;

/// <summary>
/// The tables clients write (coils, holding registers) of one simulated device, each from address 0, as saved in
/// and read from the state file.
/// </summary>
internal sealed record DeviceState(byte Unit, bool[] Coils, ushort[] HoldingRegisters);
