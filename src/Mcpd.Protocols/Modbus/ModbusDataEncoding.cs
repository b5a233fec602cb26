using System.Buffers.Binary;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// How Modbus packs table data into a PDU: registers big-endian, two bytes each (4.2); bits eight to a byte,
/// the lowest address in the least significant bit of the first byte, unused high bits zero (6.1, 6.11).
/// </summary>
public static class ModbusDataEncoding
{
    /// <summary>Bytes needed for <paramref name="bitCount"/> packed bits: ceil(N / 8).</summary>
    public static int PackedBitLength(int bitCount) => (bitCount + 7) >> 3;

    /// <summary>Packs <paramref name="bits"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int PackBits(ReadOnlySpan<bool> bits, Span<byte> destination)
    {
        var length = PackedBitLength(bits.Length);
        destination[..length].Clear();
        for (var i = 0; i < bits.Length; i++)
        {
            if (bits[i])
            {
                destination[i >> 3] |= (byte)(1 << (i & 7));
            }
        }

        return length;
    }

    /// <summary>Unpacks <c>destination.Length</c> bits from <paramref name="packed"/>.</summary>
    public static void UnpackBits(ReadOnlySpan<byte> packed, Span<bool> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (packed[i >> 3] & (1 << (i & 7))) != 0;
        }
    }

    /// <summary>Writes <paramref name="registers"/> big-endian; returns the bytes written (2 per register).</summary>
    public static int WriteRegisters(ReadOnlySpan<ushort> registers, Span<byte> destination)
    {
        for (var i = 0; i < registers.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[(i * 2)..], registers[i]);
        }

        return registers.Length * 2;
    }

    /// <summary>Reads <c>destination.Length</c> big-endian registers from <paramref name="source"/>.</summary>
    public static void ReadRegisters(ReadOnlySpan<byte> source, Span<ushort> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadUInt16BigEndian(source[(i * 2)..]);
        }
    }
}
