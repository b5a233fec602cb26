namespace Mcpd.Server.Devices;

/// <summary>Addresses clients may read but not write (<c>devices:N:readOnly</c> entries).</summary>
public sealed class ReadOnlyRangeOptions
{
    /// <summary>The table: coils or holding (discrete inputs and input registers are never writable over Modbus).</summary>
    public RegisterTable Table { get; set; } = RegisterTable.Holding;

    /// <summary>First zero-based address.</summary>
    public int Address { get; set; }

    /// <summary>Number of addresses, at least 1.</summary>
    public int Count { get; set; } = 1;
}
