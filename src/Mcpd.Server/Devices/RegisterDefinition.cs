using System.Globalization;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>A named, typed entry of a register map, so values read like the device manual.</summary>
public sealed record RegisterDefinition(
    RegisterTable Table, int Address, string? Name, string? Description, RegisterFormat Format, string? Unit, double Scale)
{
    /// <summary>Addresses the entry spans: one bit, or the registers of its type.</summary>
    public int Count => IsBitTable(Table) ? 1 : Format.RegisterCount;

    /// <summary>True for coils and discrete inputs.</summary>
    public static bool IsBitTable(RegisterTable table) => table is RegisterTable.Coils or RegisterTable.Discrete;

    /// <summary>Builds the definition of a config entry.</summary>
    public static RegisterDefinition From(RegisterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.Table, options.Address, options.Name, options.Description,
            new RegisterFormat(options.Type, options.WordOrder, options.Length), options.Unit, options.Scale);
    }

    /// <summary>The engineering value of a register entry: a number (raw x scale) or a string.</summary>
    public object Decode(ReadOnlySpan<ushort> registers) => Format.Type == RegisterDataType.String
        ? Format.DecodeString(registers)
        : Format.DecodeNumber(registers) * Scale;

    /// <summary>Encodes an engineering value given as text into the entry's registers (raw = value / scale).</summary>
    /// <exception cref="FormatException">The text is not a number.</exception>
    /// <exception cref="OverflowException">The value does not fit the type.</exception>
    public void Encode(string value, Span<ushort> registers)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Format.Type == RegisterDataType.String)
        {
            Format.EncodeString(value, registers);
            return;
        }

        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            throw new FormatException($"'{value}' is not a number.");
        }

        // double.TryParse answers infinity for a numeral beyond double's range (1e400); only the words Infinity and
        // -Infinity ask for one.
        if (double.IsInfinity(number) && value.AsSpan().IndexOfAnyInRange('0', '9') >= 0)
        {
            throw new OverflowException($"{value} is outside the range of any register type.");
        }

        EncodeNumber(number, nearest: false, registers);
    }

    /// <summary>
    /// Encodes a generated engineering value: integer types take the nearest raw value.
    /// </summary>
    /// <exception cref="OverflowException">The value does not fit the type.</exception>
    public void EncodeNearest(double value, Span<ushort> registers) => EncodeNumber(value, nearest: true, registers);

    private void EncodeNumber(double number, bool nearest, Span<ushort> registers)
    {
        var raw = number / Scale;
        // Scaling by 0.1 leaves 23.400000000000002; round integer types to the nearest raw value within 1e-6.
        if (Format.Type != RegisterDataType.Float32 && (nearest || Math.Abs(raw - Math.Round(raw)) < 1e-6))
        {
            raw = Math.Round(raw);
        }

        Format.EncodeNumber(raw, registers);
    }

    /// <summary>Parses a bit value: true/false, on/off or 1/0.</summary>
    public static bool ParseBit(string value) => value.Trim().ToUpperInvariant() switch
    {
        "TRUE" or "ON" or "1" => true,
        "FALSE" or "OFF" or "0" => false,
        _ => throw new FormatException($"'{value}' is not a bit value (true/false, on/off, 1/0)."),
    };
}
