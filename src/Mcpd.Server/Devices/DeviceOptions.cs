using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>
/// One device (an entry of the config list <c>devices</c>): simulated from its register map, or, with
/// <see cref="Upstream"/>, a real device reached through that upstream (mcpd is then its gateway).
/// </summary>
public sealed class DeviceOptions
{
    /// <summary>Unit id, 1..247. Requests to unit 0 and 255 reach the device with the lowest unit id.</summary>
    public int Unit { get; set; } = 1;

    /// <summary>A name for people and logs, and for MCP (<c>modbus.pdu</c> header <c>device</c>, route target <c>device:NAME</c>).</summary>
    public string? Name { get; set; }

    /// <summary>The upstream (a key of <c>upstreams</c>) that reaches the real device; null: simulated.</summary>
    public string? Upstream { get; set; }

    /// <summary>The device's unit id on the upstream side (0..247); default: <see cref="Unit"/>.</summary>
    public int? UpstreamUnit { get; set; }

    /// <summary>Number of coils (0..65536).</summary>
    public int Coils { get; set; } = 10_000;

    /// <summary>Number of discrete inputs (0..65536).</summary>
    public int DiscreteInputs { get; set; } = 10_000;

    /// <summary>Number of holding registers (0..65536).</summary>
    public int HoldingRegisters { get; set; } = 10_000;

    /// <summary>Number of input registers (0..65536).</summary>
    public int InputRegisters { get; set; } = 10_000;

    /// <summary>Objects answered by Read Device Identification (FC2B/0E) and Report Server ID (FC11).</summary>
    public DeviceIdentificationOptions Identification { get; set; } = new();

    /// <summary>The register map: named, typed registers with initial values.</summary>
    public IList<RegisterOptions> Registers { get; init; } = [];

    /// <summary>Ranges of coils or holding registers clients may read but not write.</summary>
    public IList<ReadOnlyRangeOptions> ReadOnly { get; init; } = [];

    /// <summary>The exception a write to a read-only address answers: 02 (the default), 01, 03 or 04.</summary>
    public ModbusExceptionCode ReadOnlyException { get; set; } = ModbusExceptionCode.IllegalDataAddress;

    /// <summary>How often the register generators of this device move their values.</summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The device mcpd serves with no configuration (the README's quick start): unit 1, holding register 40001
    /// (offset 0) = 100, temperature, and 40002 (offset 1) = 85, humidity.
    /// </summary>
    public static DeviceOptions CreateBuiltInDefault() => new()
    {
        Unit = 1,
        Name = "sensor",
        Registers =
        [
            new RegisterOptions { Table = RegisterTable.Holding, Address = 0, Name = "temperature", Description = "temperature sensor", Unit = "°C", Value = "100" },
            new RegisterOptions { Table = RegisterTable.Holding, Address = 1, Name = "humidity", Description = "humidity percent", Unit = "%", Value = "85" },
        ],
    };
}
