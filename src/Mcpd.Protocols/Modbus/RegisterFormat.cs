using System.Text;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Converts between typed values and the registers that carry them.
/// Numbers are raw (unscaled) values; scaling to engineering units is the caller's (value = raw * scale).
/// </summary>
/// <param name="Type">The data type.</param>
/// <param name="WordOrder">Word order of 32-bit types.</param>
/// <param name="StringRegisters">Register count of a <see cref="RegisterDataType.String"/> (two bytes each).</param>
public readonly record struct RegisterFormat(RegisterDataType Type, WordOrder WordOrder = WordOrder.HighWordFirst, int StringRegisters = 1)
{
    /// <summary>Number of registers this format spans.</summary>
    public int RegisterCount => Type switch
    {
        RegisterDataType.UInt16 or RegisterDataType.Int16 => 1,
        RegisterDataType.String => StringRegisters,
        _ => 2,
    };

    /// <summary>Decodes a number from the first <see cref="RegisterCount"/> registers, exactly: every 32-bit integer is a double.</summary>
    public double DecodeNumber(ReadOnlySpan<ushort> registers) => Type switch
    {
        // An arm of type double makes the switch's type double; float, the arms' common type without it, kept only
        // 24 bits of a 32-bit integer.
        RegisterDataType.UInt16 => (double)registers[0],
        RegisterDataType.Int16 => (short)registers[0],
        RegisterDataType.UInt32 => Combine(registers),
        RegisterDataType.Int32 => (int)Combine(registers),
        RegisterDataType.Float32 => BitConverter.UInt32BitsToSingle(Combine(registers)),
        _ => throw new InvalidOperationException("A string register holds no number."),
    };

    /// <summary>
    /// Encodes the raw number <paramref name="value"/>; throws <see cref="OverflowException"/> when it does not fit
    /// the type or is not a whole number for an integer type.
    /// </summary>
    public void EncodeNumber(double value, Span<ushort> registers)
    {
        switch (Type)
        {
            case RegisterDataType.UInt16:
                registers[0] = (ushort)CheckedInteger(value, ushort.MinValue, ushort.MaxValue);
                break;
            case RegisterDataType.Int16:
                registers[0] = (ushort)(short)CheckedInteger(value, short.MinValue, short.MaxValue);
                break;
            case RegisterDataType.UInt32:
                Split((uint)CheckedInteger(value, uint.MinValue, uint.MaxValue), registers);
                break;
            case RegisterDataType.Int32:
                Split((uint)(int)CheckedInteger(value, int.MinValue, int.MaxValue), registers);
                break;
            case RegisterDataType.Float32:
                var single = (float)value;
                if (float.IsInfinity(single) && !double.IsInfinity(value))
                {
                    throw new OverflowException($"{value} is outside the float32 range.");
                }

                Split(BitConverter.SingleToUInt32Bits(single), registers);
                break;
            default:
                throw new InvalidOperationException("A string register holds no number.");
        }
    }

    /// <summary>Decodes a string: two bytes per register, high byte first, trailing NULs removed.</summary>
    public string DecodeString(ReadOnlySpan<ushort> registers)
    {
        Span<byte> bytes = stackalloc byte[StringRegisters * 2];
        ModbusDataEncoding.WriteRegisters(registers[..StringRegisters], bytes);
        return Encoding.UTF8.GetString(bytes.TrimEnd((byte)0));
    }

    /// <summary>Encodes a string, NUL-padded; throws <see cref="OverflowException"/> when it is too long.</summary>
    public void EncodeString(string value, Span<ushort> registers)
    {
        Span<byte> bytes = stackalloc byte[StringRegisters * 2];
        bytes.Clear();
        if (Encoding.UTF8.GetByteCount(value) > bytes.Length)
        {
            throw new OverflowException($"\"{value}\" needs more than {StringRegisters} registers ({bytes.Length} bytes).");
        }

        Encoding.UTF8.GetBytes(value, bytes);
        ModbusDataEncoding.ReadRegisters(bytes, registers[..StringRegisters]);
    }

    private uint Combine(ReadOnlySpan<ushort> registers) => WordOrder == WordOrder.HighWordFirst
        ? (uint)(registers[0] << 16 | registers[1])
        : (uint)(registers[1] << 16 | registers[0]);

    private void Split(uint value, Span<ushort> registers)
    {
        var (high, low) = ((ushort)(value >> 16), (ushort)value);
        (registers[0], registers[1]) = WordOrder == WordOrder.HighWordFirst ? (high, low) : (low, high);
    }

    private static long CheckedInteger(double value, long min, long max)
    {
        if (value != Math.Round(value) || value < min || value > max)
        {
            throw new OverflowException($"{value} is not a whole number in {min}..{max}.");
        }

        return (long)value;
    }
}
