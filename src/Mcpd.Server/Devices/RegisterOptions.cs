using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>One entry of a device's register map.</summary>
public sealed class RegisterOptions
{
    /// <summary>The table: coils, discrete, holding or input.</summary>
    public RegisterTable Table { get; set; } = RegisterTable.Holding;

    /// <summary>Zero-based address (holding register 40001 is address 0).</summary>
    public int Address { get; set; }

    /// <summary>Short name, as in the device manual.</summary>
    public string? Name { get; set; }

    /// <summary>What the value means.</summary>
    public string? Description { get; set; }

    /// <summary>Data type; 32-bit types span two registers, strings <see cref="Length"/> registers. Ignored for bit tables.</summary>
    public RegisterDataType Type { get; set; } = RegisterDataType.UInt16;

    /// <summary>Word order of 32-bit types.</summary>
    public WordOrder WordOrder { get; set; } = WordOrder.HighWordFirst;

    /// <summary>Registers of a string (two bytes each).</summary>
    public int Length { get; set; } = 1;

    /// <summary>Engineering unit, for display ("°C", "%", "kWh").</summary>
    public string? Unit { get; set; }

    /// <summary>Engineering value = raw value x scale (0.1 for a register holding tenths).</summary>
    public double Scale { get; set; } = 1;

    /// <summary>Initial value in engineering units; true/false (or 1/0) for coils and discrete inputs.</summary>
    public string? Value { get; set; }

    /// <summary>Clients may read but not write the entry's addresses; its generator still moves it.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Moves the value over time (temperature, counter, ...); null: the value changes only when written.</summary>
    public GeneratorOptions? Generator { get; set; }
}
