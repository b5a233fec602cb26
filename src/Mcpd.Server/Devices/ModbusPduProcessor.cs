using System.Buffers.Binary;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>
/// Executes request PDUs against a <see cref="RegisterBank"/>, following the validation order of the
/// Modbus Application Protocol V1.1b3 state diagrams (section 6): function supported, else 01; quantity, value,
/// byte count and PDU length valid, else 03; address range inside the table, else 02; execution, else 04.
/// A write touching a read-only address (<see cref="WriteProtection"/>) is refused after the range check, before
/// anything is written, so a multi-register write is all or nothing. Everything runs under the bank's lock, so each request is atomic (FC10/FC17 writes included) and the
/// diagnostic counters stay consistent with the data. Allocates nothing.
/// </summary>
internal static class ModbusPduProcessor
{
    /// <summary>Writes the response PDU for <paramref name="request"/> into <paramref name="response"/>; returns its length.</summary>
    public static int Process(ReadOnlySpan<byte> request, Span<byte> response, RegisterBank bank, WriteProtection protection, DeviceIdentification identity, DiagnosticCounters counters, byte unitId)
    {
        lock (bank.Sync)
        {
            counters.RecordRequest();
            var length = Dispatch(request, response, bank, protection, identity, counters, unitId);
            var isException = (response[0] & ModbusLimits.ExceptionFlag) != 0;
            counters.RecordResponse(request[0], isException ? response[1] : (byte)0);
            if (!isException && !ModbusFunctionTable.Get(request[0]).IsSideEffectFree(request))
            {
                bank.CountClientWrite();
            }

            return length;
        }
    }

    private static int Dispatch(ReadOnlySpan<byte> request, Span<byte> response, RegisterBank bank, WriteProtection protection, DeviceIdentification identity, DiagnosticCounters counters, byte unitId) =>
        (ModbusFunctionCode)request[0] switch
        {
            ModbusFunctionCode.ReadCoils => ReadBits(request, response, bank.Coils),
            ModbusFunctionCode.ReadDiscreteInputs => ReadBits(request, response, bank.DiscreteInputs),
            ModbusFunctionCode.ReadHoldingRegisters => ReadRegisters(request, response, bank.HoldingRegisters),
            ModbusFunctionCode.ReadInputRegisters => ReadRegisters(request, response, bank.InputRegisters),
            ModbusFunctionCode.WriteSingleCoil => WriteSingleCoil(request, response, bank.Coils, protection),
            ModbusFunctionCode.WriteSingleRegister => WriteSingleRegister(request, response, bank.HoldingRegisters, protection),
            ModbusFunctionCode.WriteMultipleCoils => WriteMultipleCoils(request, response, bank.Coils, protection),
            ModbusFunctionCode.WriteMultipleRegisters => WriteMultipleRegisters(request, response, bank.HoldingRegisters, protection),
            ModbusFunctionCode.MaskWriteRegister => MaskWriteRegister(request, response, bank.HoldingRegisters, protection),
            ModbusFunctionCode.ReadWriteMultipleRegisters => ReadWriteMultipleRegisters(request, response, bank.HoldingRegisters, protection),
            ModbusFunctionCode.Diagnostics => Diagnostics(request, response, counters),
            ModbusFunctionCode.GetCommEventCounter => GetCommEventCounter(request, response, counters),
            ModbusFunctionCode.GetCommEventLog => GetCommEventLog(request, response, counters),
            ModbusFunctionCode.ReportServerId => ReportServerId(request, response, identity, unitId),
            ModbusFunctionCode.EncapsulatedInterfaceTransport => ReadDeviceIdentification(request, response, identity),
            // FC07 Read Exception Status has no meaning without a serial device's exception outputs: 01, as documented.
            _ => Exception(request, response, ModbusExceptionCode.IllegalFunction),
        };

    /// <summary>6.1 / 6.2: quantity 1..2000, then range.</summary>
    private static int ReadBits(ReadOnlySpan<byte> request, Span<byte> response, bool[] table)
    {
        if (request.Length != 5 || !TryQuantity(request, 3, ModbusLimits.MaxReadBits, out var quantity))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var address = Word(request, 1);
        if (!InRange(address, quantity, table.Length))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        response[0] = request[0];
        response[1] = (byte)ModbusDataEncoding.PackBits(table.AsSpan(address, quantity), response[2..]);
        return 2 + response[1];
    }

    /// <summary>6.3 / 6.4: quantity 1..125, then range.</summary>
    private static int ReadRegisters(ReadOnlySpan<byte> request, Span<byte> response, ushort[] table)
    {
        if (request.Length != 5 || !TryQuantity(request, 3, ModbusLimits.MaxReadRegisters, out var quantity))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var address = Word(request, 1);
        if (!InRange(address, quantity, table.Length))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        response[0] = request[0];
        response[1] = (byte)ModbusDataEncoding.WriteRegisters(table.AsSpan(address, quantity), response[2..]);
        return 2 + response[1];
    }

    /// <summary>6.5: value 0xFF00 or 0x0000 else 03; the response echoes the request.</summary>
    private static int WriteSingleCoil(ReadOnlySpan<byte> request, Span<byte> response, bool[] table, WriteProtection protection)
    {
        if (request.Length != 5 || Word(request, 3) is not (0xFF00 or 0x0000))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var address = Word(request, 1);
        if (address >= table.Length)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        if (protection.CoilsProtected(address, 1))
        {
            return Exception(request, response, protection.Exception);
        }

        table[address] = request[3] == 0xFF;
        return Echo(request, response);
    }

    /// <summary>6.6: the response echoes the request.</summary>
    private static int WriteSingleRegister(ReadOnlySpan<byte> request, Span<byte> response, ushort[] table, WriteProtection protection)
    {
        if (request.Length != 5)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var address = Word(request, 1);
        if (address >= table.Length)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        if (protection.HoldingProtected(address, 1))
        {
            return Exception(request, response, protection.Exception);
        }

        table[address] = Word(request, 3);
        return Echo(request, response);
    }

    /// <summary>6.11: quantity 1..1968 and byte count = ceil(N/8) matching the PDU, then range.</summary>
    private static int WriteMultipleCoils(ReadOnlySpan<byte> request, Span<byte> response, bool[] table, WriteProtection protection)
    {
        if (!TryMultipleWrite(request, response, registers: false, table.Length, protection, out var address, out var quantity, out var refused))
        {
            return refused;
        }

        ModbusDataEncoding.UnpackBits(request[6..], table.AsSpan(address, quantity));
        request[..5].CopyTo(response);
        return 5;
    }

    /// <summary>6.12: quantity 1..123 and byte count = 2N matching the PDU, then range.</summary>
    private static int WriteMultipleRegisters(ReadOnlySpan<byte> request, Span<byte> response, ushort[] table, WriteProtection protection)
    {
        if (!TryMultipleWrite(request, response, registers: true, table.Length, protection, out var address, out var quantity, out var refused))
        {
            return refused;
        }

        ModbusDataEncoding.ReadRegisters(request[6..], table.AsSpan(address, quantity));
        request[..5].CopyTo(response);
        return 5;
    }

    /// <summary>
    /// The checks of 6.11 and 6.12 in the order of their state diagrams: quantity and byte count (03), range (02),
    /// then read-only addresses. False with <paramref name="refused"/> = the exception response's length when one fails.
    /// </summary>
    private static bool TryMultipleWrite(ReadOnlySpan<byte> request, Span<byte> response, bool registers, int tableLength, WriteProtection protection, out int address, out int quantity, out int refused)
    {
        address = 0;
        refused = 0;
        if (request.Length < 6
            || !TryQuantity(request, 3, registers ? ModbusLimits.MaxWriteRegisters : ModbusLimits.MaxWriteBits, out quantity)
            || request[5] != (registers ? quantity * 2 : ModbusDataEncoding.PackedBitLength(quantity))
            || request.Length != 6 + request[5])
        {
            quantity = 0;
            refused = Exception(request, response, ModbusExceptionCode.IllegalDataValue);
            return false;
        }

        address = Word(request, 1);
        if (!InRange(address, quantity, tableLength))
        {
            refused = Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
            return false;
        }

        if (registers ? protection.HoldingProtected(address, quantity) : protection.CoilsProtected(address, quantity))
        {
            refused = Exception(request, response, protection.Exception);
            return false;
        }

        return true;
    }

    /// <summary>6.16: result = (current AND and_mask) OR (or_mask AND NOT and_mask); the response echoes the request.</summary>
    private static int MaskWriteRegister(ReadOnlySpan<byte> request, Span<byte> response, ushort[] table, WriteProtection protection)
    {
        if (request.Length != 7)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var address = Word(request, 1);
        if (address >= table.Length)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        if (protection.HoldingProtected(address, 1))
        {
            return Exception(request, response, protection.Exception);
        }

        var andMask = Word(request, 3);
        var orMask = Word(request, 5);
        table[address] = (ushort)((table[address] & andMask) | (orMask & ~andMask));
        return Echo(request, response);
    }

    /// <summary>6.17: read 1..125, write 1..121, byte count = 2 x write quantity; the write happens before the read.</summary>
    private static int ReadWriteMultipleRegisters(ReadOnlySpan<byte> request, Span<byte> response, ushort[] table, WriteProtection protection)
    {
        if (request.Length < 10
            || !TryQuantity(request, 3, ModbusLimits.MaxReadWriteReadRegisters, out var readQuantity)
            || !TryQuantity(request, 7, ModbusLimits.MaxReadWriteWriteRegisters, out var writeQuantity)
            || request[9] != writeQuantity * 2
            || request.Length != 10 + request[9])
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var readAddress = Word(request, 1);
        var writeAddress = Word(request, 5);
        if (!InRange(readAddress, readQuantity, table.Length) || !InRange(writeAddress, writeQuantity, table.Length))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        // Only the write part is checked: reading a read-only register is what it is for.
        if (protection.HoldingProtected(writeAddress, writeQuantity))
        {
            return Exception(request, response, protection.Exception);
        }

        ModbusDataEncoding.ReadRegisters(request[10..], table.AsSpan(writeAddress, writeQuantity));
        response[0] = request[0];
        response[1] = (byte)ModbusDataEncoding.WriteRegisters(table.AsSpan(readAddress, readQuantity), response[2..]);
        return 2 + response[1];
    }

    /// <summary>
    /// 6.8 sub-functions served: 00 echo, 01 restart communications (data 0x0000 or 0xFF00), 02 diagnostic register,
    /// 0A clear counters, 0B..12 counters, 14 clear overrun. Others answer 01, as the 6.8 state diagram says.
    /// </summary>
    private static int Diagnostics(ReadOnlySpan<byte> request, Span<byte> response, DiagnosticCounters counters)
    {
        if (request.Length < 3)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var subFunction = Word(request, 1);
        if (subFunction == 0x00)
        {
            return Echo(request, response);
        }

        if (subFunction is not (0x01 or 0x02 or 0x14 or (>= 0x0A and <= 0x12)))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalFunction);
        }

        var data = request.Length == 5 ? Word(request, 3) : -1;
        var dataValid = subFunction == 0x01 ? data is 0x0000 or 0xFF00 : data == 0x0000;
        if (!dataValid)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        ushort value = subFunction switch
        {
            0x0B => counters.BusMessages,
            0x0D => counters.BusExceptions,
            0x0E => counters.ServerMessages,
            // 02 diagnostic register, 0C communication errors, 0F no response, 10 NAK, 11 busy, 12 overrun:
            // none of these can happen on a simulated device reached over TCP.
            _ => 0,
        };
        switch (subFunction)
        {
            case 0x01:
                counters.Clear(clearEventLog: data == 0xFF00);
                counters.RecordCommunicationRestart();
                return Echo(request, response);
            case 0x0A:
                counters.Clear(clearEventLog: false);
                return Echo(request, response);
            case 0x14:
                return Echo(request, response);
            default:
                request[..3].CopyTo(response);
                BinaryPrimitives.WriteUInt16BigEndian(response[3..], value);
                return 5;
        }
    }

    /// <summary>6.9: status word (0x0000, never busy) and event count.</summary>
    private static int GetCommEventCounter(ReadOnlySpan<byte> request, Span<byte> response, DiagnosticCounters counters)
    {
        if (request.Length != 1)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        response[0] = request[0];
        BinaryPrimitives.WriteUInt16BigEndian(response[1..], 0x0000);
        BinaryPrimitives.WriteUInt16BigEndian(response[3..], counters.EventCounter);
        return 5;
    }

    /// <summary>6.10: byte count, status, event count, message count, then up to 64 events, newest first.</summary>
    private static int GetCommEventLog(ReadOnlySpan<byte> request, Span<byte> response, DiagnosticCounters counters)
    {
        if (request.Length != 1)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        response[0] = request[0];
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], 0x0000);
        BinaryPrimitives.WriteUInt16BigEndian(response[4..], counters.EventCounter);
        BinaryPrimitives.WriteUInt16BigEndian(response[6..], counters.BusMessages);
        var events = counters.CopyEventsNewestFirst(response[8..]);
        response[1] = (byte)(6 + events);
        return 8 + events;
    }

    /// <summary>
    /// 6.13: byte count, server id (the unit id), run indicator 0xFF (ON), then "VendorName ProductCode Revision"
    /// as additional data, cut to fit the PDU.
    /// </summary>
    private static int ReportServerId(ReadOnlySpan<byte> request, Span<byte> response, DeviceIdentification identity, byte unitId)
    {
        if (request.Length != 1)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        response[0] = request[0];
        response[2] = unitId;
        response[3] = 0xFF;
        var data = response[4..ModbusLimits.MaxPduLength];
        var written = 0;
        for (var id = DeviceIdentificationObjects.VendorName; id <= DeviceIdentificationObjects.MajorMinorRevision; id++)
        {
            if (id > 0 && written < data.Length)
            {
                data[written++] = (byte)' ';
            }

            var value = identity[id];
            var take = Math.Min(value.Length, data.Length - written);
            value[..take].CopyTo(data[written..]);
            written += take;
        }

        response[1] = (byte)(2 + written);
        return 4 + written;
    }

    /// <summary>
    /// 6.21 Read Device Identification. MEI other than 0x0E answers 01; a PDU other than 4 bytes or an unknown
    /// read code answers 03; individual access to a missing object answers 02; stream access to a missing object
    /// restarts at object 0. Objects are never split: when the next one does not fit, More Follows = 0xFF and
    /// Next Object Id names it.
    /// </summary>
    private static int ReadDeviceIdentification(ReadOnlySpan<byte> request, Span<byte> response, DeviceIdentification identity)
    {
        if (request.Length < 2 || request[1] != DeviceIdentificationObjects.MeiType)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalFunction);
        }

        if (request.Length != 4 || request[2] is < (byte)ReadDeviceIdCode.Basic or > (byte)ReadDeviceIdCode.Individual)
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataValue);
        }

        var code = (ReadDeviceIdCode)request[2];
        var objectId = request[3];
        if (code == ReadDeviceIdCode.Individual && !identity.Contains(objectId))
        {
            return Exception(request, response, ModbusExceptionCode.IllegalDataAddress);
        }

        request[..3].CopyTo(response);
        response[3] = identity.ConformityLevel;
        response[4] = 0x00; // more follows
        response[5] = 0x00; // next object id
        var count = 0;
        var position = DeviceIdentificationObjects.ResponseHeaderLength;
        if (code == ReadDeviceIdCode.Individual)
        {
            position = WriteObject(response, position, objectId, identity[objectId]);
            count = 1;
        }
        else
        {
            var last = DeviceIdentificationObjects.LastObjectOf(code);
            var start = objectId <= last && identity.Contains(objectId) ? objectId : 0;
            for (var id = start; id <= last; id++)
            {
                if (!identity.Contains((byte)id))
                {
                    continue;
                }

                var value = identity[(byte)id];
                if (position + 2 + value.Length > ModbusLimits.MaxPduLength)
                {
                    response[4] = 0xFF;
                    response[5] = (byte)id;
                    break;
                }

                position = WriteObject(response, position, (byte)id, value);
                count++;
            }
        }

        response[6] = (byte)count;
        return position;
    }

    private static int WriteObject(Span<byte> response, int position, byte id, ReadOnlySpan<byte> value)
    {
        response[position] = id;
        response[position + 1] = (byte)value.Length;
        value.CopyTo(response[(position + 2)..]);
        return position + 2 + value.Length;
    }

    private static int Echo(ReadOnlySpan<byte> request, Span<byte> response)
    {
        request.CopyTo(response);
        return request.Length;
    }

    private static int Exception(ReadOnlySpan<byte> request, Span<byte> response, ModbusExceptionCode code) =>
        ModbusResponsePdu.WriteException(response, request[0], code);

    private static bool TryQuantity(ReadOnlySpan<byte> request, int offset, int max, out int quantity)
    {
        quantity = Word(request, offset);
        return quantity >= 1 && quantity <= max;
    }

    private static bool InRange(int address, int quantity, int tableSize) => address + quantity <= tableSize;

    private static ushort Word(ReadOnlySpan<byte> source, int offset) => BinaryPrimitives.ReadUInt16BigEndian(source[offset..]);
}
