using System.Buffers.Binary;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Builds request PDUs (Modbus Application Protocol V1.1b3, section 6). Each method writes into
/// <c>destination</c> (at least <see cref="ModbusLimits.MaxPduLength"/> bytes) and returns the PDU length.
/// Quantities are checked against the spec's limits so a client never sends what a server must refuse.
/// </summary>
public static class ModbusRequestPdu
{
    /// <summary>FC01..04: function, starting address, quantity.</summary>
    public static int Read(Span<byte> destination, ModbusFunctionCode function, ushort address, int quantity)
    {
        var max = function switch
        {
            ModbusFunctionCode.ReadCoils or ModbusFunctionCode.ReadDiscreteInputs => ModbusLimits.MaxReadBits,
            ModbusFunctionCode.ReadHoldingRegisters or ModbusFunctionCode.ReadInputRegisters => ModbusLimits.MaxReadRegisters,
            _ => throw new ArgumentOutOfRangeException(nameof(function), function, "Not a read function (01..04)."),
        };
        CheckQuantity(quantity, max);
        destination[0] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)quantity);
        return 5;
    }

    /// <summary>FC05: ON is 0xFF00, OFF is 0x0000 (6.5).</summary>
    public static int WriteSingleCoil(Span<byte> destination, ushort address, bool value) =>
        WriteAddressAndValue(destination, ModbusFunctionCode.WriteSingleCoil, address, value ? (ushort)0xFF00 : (ushort)0x0000);

    /// <summary>FC06.</summary>
    public static int WriteSingleRegister(Span<byte> destination, ushort address, ushort value) =>
        WriteAddressAndValue(destination, ModbusFunctionCode.WriteSingleRegister, address, value);

    /// <summary>FC0F: address, quantity, byte count, packed bits.</summary>
    public static int WriteMultipleCoils(Span<byte> destination, ushort address, ReadOnlySpan<bool> values)
    {
        CheckQuantity(values.Length, ModbusLimits.MaxWriteBits);
        destination[0] = (byte)ModbusFunctionCode.WriteMultipleCoils;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)values.Length);
        var byteCount = ModbusDataEncoding.PackBits(values, destination[6..]);
        destination[5] = (byte)byteCount;
        return 6 + byteCount;
    }

    /// <summary>FC10: address, quantity, byte count, registers.</summary>
    public static int WriteMultipleRegisters(Span<byte> destination, ushort address, ReadOnlySpan<ushort> values)
    {
        CheckQuantity(values.Length, ModbusLimits.MaxWriteRegisters);
        destination[0] = (byte)ModbusFunctionCode.WriteMultipleRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)values.Length);
        destination[5] = (byte)ModbusDataEncoding.WriteRegisters(values, destination[6..]);
        return 6 + destination[5];
    }

    /// <summary>FC16: result = (current AND andMask) OR (orMask AND NOT andMask) (6.16).</summary>
    public static int MaskWriteRegister(Span<byte> destination, ushort address, ushort andMask, ushort orMask)
    {
        destination[0] = (byte)ModbusFunctionCode.MaskWriteRegister;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], andMask);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], orMask);
        return 7;
    }

    /// <summary>FC17: the write is performed before the read (6.17).</summary>
    public static int ReadWriteMultipleRegisters(
        Span<byte> destination, ushort readAddress, int readQuantity, ushort writeAddress, ReadOnlySpan<ushort> values)
    {
        CheckQuantity(readQuantity, ModbusLimits.MaxReadWriteReadRegisters);
        CheckQuantity(values.Length, ModbusLimits.MaxReadWriteWriteRegisters);
        destination[0] = (byte)ModbusFunctionCode.ReadWriteMultipleRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], readAddress);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], (ushort)readQuantity);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], writeAddress);
        BinaryPrimitives.WriteUInt16BigEndian(destination[7..], (ushort)values.Length);
        destination[9] = (byte)ModbusDataEncoding.WriteRegisters(values, destination[10..]);
        return 10 + destination[9];
    }

    /// <summary>FC2B / MEI 0x0E: read device identification code (1..4) and first object id (6.21).</summary>
    public static int ReadDeviceIdentification(Span<byte> destination, ReadDeviceIdCode code, byte objectId)
    {
        destination[0] = (byte)ModbusFunctionCode.EncapsulatedInterfaceTransport;
        destination[1] = DeviceIdentificationObjects.MeiType;
        destination[2] = (byte)code;
        destination[3] = objectId;
        return 4;
    }

    private static int WriteAddressAndValue(Span<byte> destination, ModbusFunctionCode function, ushort address, ushort value)
    {
        destination[0] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], value);
        return 5;
    }

    private static void CheckQuantity(int quantity, int max)
    {
        if (quantity < 1 || quantity > max)
        {
            throw new ArgumentOutOfRangeException(nameof(quantity), quantity, $"Quantity must be 1..{max} (Modbus Application Protocol V1.1b3).");
        }
    }
}
