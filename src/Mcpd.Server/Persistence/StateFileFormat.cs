using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Persistence;

/// <summary>
/// The state file, version 1, big-endian as Modbus: the magic <c>MCPDSTAT</c>, the format version (u16), the device
/// count (u16), the time it was saved (Unix milliseconds, i64); per device its unit id (u8), its coil count (u32) and
/// the coils packed 8 to a byte as Modbus packs them, its holding register count (u32) and the registers (u16 each);
/// last the CRC-32 (IEEE 802.3) of every byte before it (u32). Invariant: a file is read whole or not at all: any
/// damage (truncation, a flipped bit, trailing bytes, another version) makes <see cref="TryRead"/> fail with the
/// reason, before anything is applied.
/// </summary>
internal static class StateFileFormat
{
    /// <summary>The version this build writes and the only one it reads.</summary>
    public const ushort Version = 1;

    private const int HeaderLength = 20;
    private const int CountLength = 4;
    private const int ChecksumLength = 4;
    private const int MaxTableSize = 65536;
    private static ReadOnlySpan<byte> Magic => "MCPDSTAT"u8;

    /// <summary>Writes <paramref name="devices"/>, saved at <paramref name="savedAt"/>, into <paramref name="output"/>.</summary>
    public static void Write(IReadOnlyList<DeviceState> devices, DateTimeOffset savedAt, ArrayBufferWriter<byte> output)
    {
        var header = output.GetSpan(HeaderLength);
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16BigEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)devices.Count);
        BinaryPrimitives.WriteInt64BigEndian(header[12..], savedAt.ToUnixTimeMilliseconds());
        output.Advance(HeaderLength);
        foreach (var device in devices)
        {
            var coilBytes = ModbusDataEncoding.PackedBitLength(device.Coils.Length);
            var length = 1 + CountLength + coilBytes + CountLength + (2 * device.HoldingRegisters.Length);
            var span = output.GetSpan(length);
            span[0] = device.Unit;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], device.Coils.Length);
            ModbusDataEncoding.PackBits(device.Coils, span.Slice(1 + CountLength, coilBytes));
            var registers = span[(1 + CountLength + coilBytes)..];
            BinaryPrimitives.WriteInt32BigEndian(registers, device.HoldingRegisters.Length);
            ModbusDataEncoding.WriteRegisters(device.HoldingRegisters, registers[CountLength..]);
            output.Advance(length);
        }

        BinaryPrimitives.WriteUInt32BigEndian(output.GetSpan(ChecksumLength), Crc32.HashToUInt32(output.WrittenSpan));
        output.Advance(ChecksumLength);
    }

    /// <summary>Reads a whole file's content; false with <paramref name="problem"/> when it is not one this build wrote intact.</summary>
    public static bool TryRead(ReadOnlySpan<byte> content, out List<DeviceState> devices, out DateTimeOffset savedAt, out string? problem)
    {
        devices = [];
        savedAt = default;
        if (content.Length < HeaderLength + ChecksumLength || !content.StartsWith(Magic))
        {
            problem = $"not an mcpd state file ({content.Length} bytes, no MCPDSTAT header)";
            return false;
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(content[8..]);
        if (version != Version)
        {
            problem = $"format version {version}; this mcpd reads version {Version}";
            return false;
        }

        var body = content[..^ChecksumLength];
        if (Crc32.HashToUInt32(body) != BinaryPrimitives.ReadUInt32BigEndian(content[^ChecksumLength..]))
        {
            problem = $"checksum mismatch over {content.Length} bytes (truncated or damaged)";
            return false;
        }

        var count = BinaryPrimitives.ReadUInt16BigEndian(content[10..]);
        savedAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(content[12..]));
        var rest = body[HeaderLength..];
        for (var d = 0; d < count; d++)
        {
            if (!TryReadDevice(ref rest, out var device))
            {
                problem = $"device {d + 1} of {count} runs past the end";
                return false;
            }

            devices.Add(device);
        }

        problem = rest.IsEmpty ? null : $"{rest.Length} bytes after the last device";
        return problem is null;
    }

    private static bool TryReadDevice(ref ReadOnlySpan<byte> rest, out DeviceState device)
    {
        device = null!;
        if (!TryTake(ref rest, 1, out var unit)
            || !TryTakeTable(ref rest, ModbusDataEncoding.PackedBitLength, out var coilCount, out var packedCoils)
            || !TryTakeTable(ref rest, count => 2 * count, out var registerCount, out var registerBytes))
        {
            return false;
        }

        var coils = new bool[coilCount];
        ModbusDataEncoding.UnpackBits(packedCoils, coils);
        var holdingRegisters = new ushort[registerCount];
        ModbusDataEncoding.ReadRegisters(registerBytes, holdingRegisters);
        device = new DeviceState(unit[0], coils, holdingRegisters);
        return true;
    }

    /// <summary>A table: its count (0..65536) and the <paramref name="bytesOf"/>(count) bytes of its values.</summary>
    private static bool TryTakeTable(ref ReadOnlySpan<byte> rest, Func<int, int> bytesOf, out int count, out ReadOnlySpan<byte> values)
    {
        values = default;
        count = TryTake(ref rest, CountLength, out var countBytes) ? BinaryPrimitives.ReadInt32BigEndian(countBytes) : -1;
        return count is >= 0 and <= MaxTableSize && TryTake(ref rest, bytesOf(count), out values);
    }

    private static bool TryTake(ref ReadOnlySpan<byte> rest, int length, out ReadOnlySpan<byte> taken)
    {
        if (rest.Length < length)
        {
            taken = default;
            return false;
        }

        taken = rest[..length];
        rest = rest[length..];
        return true;
    }
}
