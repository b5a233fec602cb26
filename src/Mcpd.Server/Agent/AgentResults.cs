using System.ComponentModel;
using Mcpd.Server.Admin;

namespace Mcpd.Server.Agent;

// The structured results of the agent endpoint's tools: their JSON Schemas are the tools' output schemas, where every
// property is required (a client checks results against them), so an absent value is written as null, never left out.

/// <summary>The devices, and whether agents may write.</summary>
internal sealed record DeviceList(
    IReadOnlyList<DeviceSummary> Devices,
    [property: Description("True when write_register may write (agent.allowWrites); the caller's role still applies.")] bool WritesAllowed);

/// <summary>One device in a list.</summary>
internal sealed record DeviceSummary(
    int Unit,
    string Name,
    [property: Description("simulated, gateway (a real device behind an upstream), modbus-tcp (reached directly) or code.")] string Kind,
    [property: Description("Named entries in the register map.")] int NamedRegisters,
    string? Upstream,
    [property: Description("Up, Degraded or Down.")] string? UpstreamState);

/// <summary>A device's register map.</summary>
internal sealed record DeviceDescription(
    int Unit,
    string Name,
    string Kind,
    [property: Description("Addresses per table.")] TableSizes? Tables,
    IReadOnlyList<RegisterInfo> Registers);

/// <summary>One entry of a register map.</summary>
internal sealed record RegisterInfo(
    string? Name,
    [property: Description("coils, discrete, holding or input.")] string Table,
    [property: Description("Zero-based address of the first register or bit.")] int Address,
    [property: Description("The reference a manual uses: 40001 is holding address 0.")] string Reference,
    [property: Description("bit, uint16, int16, uint32, int32, float32 or string.")] string Type,
    [property: Description("Registers (or bits) the entry spans.")] int Registers,
    [property: Description("Engineering unit, e.g. °C.")] string? Unit,
    [property: Description("Engineering value = raw x scale.")] double Scale,
    [property: Description("Least engineering value the type holds.")] double? Min,
    [property: Description("Greatest engineering value the type holds.")] double? Max,
    [property: Description("True when clients may not write it.")] bool ReadOnly,
    string? Description);

/// <summary>Registers read now.</summary>
internal sealed record ReadResult(int Unit, string Device, IReadOnlyList<RegisterValue> Readings);

/// <summary>One register or map entry as read.</summary>
internal sealed record RegisterValue(
    string Table,
    int Address,
    string? Name,
    [property: Description("The engineering value (raw x scale, a string, or true/false for a bit); absent where no map entry starts.")] object? Value,
    string? Unit,
    [property: Description("The raw 16-bit words (a bit as 0 or 1).")] IReadOnlyList<ushort> Raw,
    string? Type,
    bool? ReadOnly,
    string? Description)
{
    public static RegisterValue Of(string table, RegisterReading reading, IReadOnlyList<ushort> raw) =>
        new(table, reading.Address, reading.Name, reading.Value, reading.Unit, raw, reading.Type, reading.ReadOnly, reading.Description);
}

/// <summary>What was written, and what the device holds after it.</summary>
internal sealed record WriteResult(int Unit, string Table, int Address, [property: Description("The raw words written.")] IReadOnlyList<ushort> Written, IReadOnlyList<RegisterValue> ReadBack);

/// <summary>Registers followed over a short period.</summary>
internal sealed record SampleResult(
    int Unit,
    [property: Description("Seconds since the first reading, one per reading.")] IReadOnlyList<double> Seconds,
    IReadOnlyList<SampleSeries> Series);

/// <summary>One register's values over the period.</summary>
internal sealed record SampleSeries(
    string Register,
    string Table,
    int Address,
    string? Unit,
    [property: Description("The value at each reading.")] IReadOnlyList<object> Values,
    double? Min,
    double? Max,
    double? First,
    double? Last,
    [property: Description("Last minus first.")] double? Change);

/// <summary>The upstreams and the gateway devices behind them.</summary>
internal sealed record UpstreamHealthResult(IReadOnlyList<UpstreamHealth> Upstreams, IReadOnlyList<DeviceSummary> GatewayDevices);

/// <summary>The answer of an MCP method call.</summary>
internal sealed record CallResult(
    [property: Description("The MCP status code (0 is OK).")] int Status,
    string StatusName,
    string? Body,
    string? BodyBase64,
    IReadOnlyDictionary<string, string> Headers);
