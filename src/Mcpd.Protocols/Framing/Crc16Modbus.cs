using System.Buffers;

namespace Mcpd.Protocols.Framing;

/// <summary>
/// CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial value 0xFFFF, no final XOR (Modbus over Serial Line
/// V1.02, 6.2.2). On the wire the low byte goes first. Check value: "123456789" -> 0x4B37.
/// </summary>
public static class Crc16Modbus
{
    /// <summary>The initial register value.</summary>
    public const ushort Initial = 0xFFFF;

    private static readonly ushort[] Table = BuildTable();

    /// <summary>The CRC of <paramref name="data"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Update(Initial, data);

    /// <summary>The CRC of <paramref name="data"/>, segment by segment.</summary>
    public static ushort Compute(in ReadOnlySequence<byte> data)
    {
        var crc = Initial;
        foreach (var segment in data)
        {
            crc = Update(crc, segment.Span);
        }

        return crc;
    }

    /// <summary>Continues a CRC over more bytes.</summary>
    public static ushort Update(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            crc = (ushort)((crc >> 8) ^ Table[(crc ^ b) & 0xFF]);
        }

        return crc;
    }

    private static ushort[] BuildTable()
    {
        var table = new ushort[256];
        for (var i = 0; i < 256; i++)
        {
            var value = (ushort)i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (ushort)((value >> 1) ^ 0xA001) : (ushort)(value >> 1);
            }

            table[i] = value;
        }

        return table;
    }
}
