using CsCheck;
using Mcpd.Protocols.Modbus;
using static Mcpd.Protocols.Modbus.ModbusFunctionCode;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Request PDUs of every function in <see cref="ModbusFunctionTable"/>, each laid out as its function says (a byte
/// count matches the bytes after it, so an RTU slave can frame it), with values biased to the limits of Application
/// Protocol section 6: quantities 0, 1, the maximum and one past it; addresses at both ends of
/// <see cref="FuzzDevice"/>'s tables, at its read-only ranges and at the end of the address space.
/// </summary>
internal static class ModbusRequests
{
    /// <summary>FC08 sub-function 00 Return Query Data (6.8.1): its data is any number of words.</summary>
    public const ushort ReturnQueryData = 0x0000;

    public static Gen<byte[]> Pdu { get; } = Gen.OneOf(
        Read(ReadCoils, ModbusLimits.MaxReadBits),
        Read(ReadDiscreteInputs, ModbusLimits.MaxReadBits),
        Read(ReadHoldingRegisters, ModbusLimits.MaxReadRegisters),
        Read(ReadInputRegisters, ModbusLimits.MaxReadRegisters),
        Gen.Select(Address(Gen.Const((ushort)1)), Word(0xFF00, 0x0000, 0x00FF), (address, value) => Build(WriteSingleCoil, [address, value])),
        Gen.Select(Address(Gen.Const((ushort)1)), Gen.UShort, (address, value) => Build(WriteSingleRegister, [address, value])),
        Gen.OneOf(ReadExceptionStatus, GetCommEventCounter, GetCommEventLog, ReportServerId).Select(function => Build(function, [])),
        Diagnostics(),
        WriteMultiple(WriteMultipleCoils, ModbusLimits.MaxWriteBits, ModbusDataEncoding.PackedBitLength),
        WriteMultiple(WriteMultipleRegisters, ModbusLimits.MaxWriteRegisters, quantity => 2 * quantity),
        Gen.Select(Gen.OneOf(ReadFileRecord, WriteFileRecord), Data(ModbusLimits.MaxPduLength - 2), (function, data) => Build(function, [], data)),
        Gen.Select(Address(Gen.Const((ushort)1)), Gen.UShort, Gen.UShort, (address, and, or) => Build(MaskWriteRegister, [address, and, or])),
        ReadWriteMultiple(),
        Gen.UShort.Select(pointer => Build(ReadFifoQueue, [pointer])),
        Gen.Select(Gen.Byte[0, 5], Word(0x00, 0x01, 0x02, 0x03, 0x06, 0x07, 0x80, 0x81, 0x82, 0xFF), (code, objectId) =>
            new byte[] { (byte)EncapsulatedInterfaceTransport, DeviceIdentificationObjects.MeiType, code, (byte)objectId }));

    /// <summary>True when no shorter FC08/00 frame ends inside <paramref name="adu"/>: RTU frames that request by the first word boundary followed by a matching CRC.</summary>
    public static bool IsUnambiguousRtu(byte[] adu)
    {
        var pdu = adu.AsSpan(1, adu.Length - 1 - ModbusRtuCodec.CrcLength);
        if (pdu[0] != (byte)ModbusFunctionCode.Diagnostics || pdu.Length < 3 || (pdu[1] << 8 | pdu[2]) != ReturnQueryData)
        {
            return true;
        }

        Span<byte> shorter = stackalloc byte[ModbusRtuCodec.MaxAduLength];
        for (var length = 5; length < pdu.Length; length += 2)
        {
            var frame = shorter[..ModbusRtuCodec.Encode(adu[0], pdu[..length], shorter)];
            if (adu.AsSpan().StartsWith(frame))
            {
                return false;
            }
        }

        return true;
    }

    private static Gen<byte[]> Read(ModbusFunctionCode function, int max) =>
        Quantity(max).SelectMany(quantity => Address(Gen.Const(quantity)).Select(address => Build(function, [address, quantity])));

    private static Gen<byte[]> Diagnostics() => Gen.Frequency(
        (1, Gen.UShort.Array[1, 125].Select(words => Build(ModbusFunctionCode.Diagnostics, [ReturnQueryData, .. words]))),
        (2, Gen.Select(Word(0x01, 0x02, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15), Word(0x0000, 0xFF00), (subFunction, data) =>
            Build(ModbusFunctionCode.Diagnostics, [subFunction, data]))));

    private static Gen<byte[]> WriteMultiple(ModbusFunctionCode function, int max, Func<int, int> byteCountOf) =>
        Quantity(max).SelectMany(quantity => Gen.Select(Address(Gen.Const(quantity)), Data(byteCountOf(quantity)), (address, data) =>
            Build(function, [address, quantity], data)));

    private static Gen<byte[]> ReadWriteMultiple() =>
        Gen.Select(Quantity(ModbusLimits.MaxReadWriteReadRegisters), Quantity(ModbusLimits.MaxReadWriteWriteRegisters)).SelectMany((read, write) =>
            Gen.Select(Address(Gen.Const(read)), Address(Gen.Const(write)), Data(2 * write), (readAddress, writeAddress, data) =>
                Build(ReadWriteMultipleRegisters, [readAddress, read, writeAddress, write], data)));

    /// <summary>0, 1, the maximum and one past it more often than the rest of 0..65535.</summary>
    private static Gen<ushort> Quantity(int max) => Gen.Frequency(
        (3, Word(0, 1, (ushort)max, (ushort)(max + 1))),
        (2, Gen.UShort[1, (ushort)max]),
        (1, Gen.UShort));

    /// <summary>An address for <paramref name="quantity"/> items: the table's start, its last fit and one past it, the read-only ranges, the address space's end.</summary>
    private static Gen<ushort> Address(Gen<ushort> quantity) => quantity.SelectMany(count => Gen.Frequency(
        (3, Word(0, (ushort)(FuzzDevice.TableSize - count), (ushort)(FuzzDevice.TableSize - count + 1), FuzzDevice.ReadOnlyStart, FuzzDevice.ReadOnlyStart + FuzzDevice.ReadOnlyCount - 1, 0xFFFF)),
        (1, Gen.UShort)));

    private static Gen<ushort> Word(params ushort[] values) => Gen.OneOf(values);

    /// <summary>Random data bytes; a byte count that cannot fit a PDU is replaced by one that does, so the layout still holds.</summary>
    private static Gen<byte[]> Data(int byteCount) => Gen.Byte.Array[Math.Min(byteCount, ModbusLimits.MaxPduLength - 10)];

    private static byte[] Build(ModbusFunctionCode function, ushort[] words, byte[]? counted = null)
    {
        var pdu = new List<byte> { (byte)function };
        foreach (var word in words)
        {
            pdu.Add((byte)(word >> 8));
            pdu.Add((byte)word);
        }

        if (counted is not null)
        {
            pdu.Add((byte)counted.Length);
            pdu.AddRange(counted);
        }

        return [.. pdu];
    }
}
