using System.Buffers.Binary;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Security;

/// <summary>
/// What a Modbus request PDU reads or writes, decided against a <see cref="RolePolicy"/> without allocating. Modbus/TCP
/// Security ("mbaps Role-Based Client Authorization") leaves the mapping of roles to rights to the server; mcpd's:
/// the register functions read or write the range they name (Application Protocol V1.1b3, 6.1-6.17); identification,
/// diagnostics and the other functions that name no register read the device (any read rule for the unit); a function
/// that changes something it does not name (FC15 write file record, and any code mcpd does not know, which a gateway
/// passes on to a real device) needs a write rule narrowed by neither tables nor addresses.
/// </summary>
public static class ModbusRequestAccess
{
    /// <summary>True when <paramref name="role"/> may make <paramref name="pdu"/> of <paramref name="unit"/>.</summary>
    public static bool IsAllowed(RolePolicy policy, string? role, byte unit, ReadOnlySpan<byte> pdu)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (pdu.IsEmpty)
        {
            return false;
        }

        return (ModbusFunctionCode)pdu[0] switch
        {
            ModbusFunctionCode.ReadCoils => Range(policy, role, AccessKind.Read, unit, RegisterTable.Coils, pdu, 1),
            ModbusFunctionCode.ReadDiscreteInputs => Range(policy, role, AccessKind.Read, unit, RegisterTable.Discrete, pdu, 1),
            ModbusFunctionCode.ReadHoldingRegisters => Range(policy, role, AccessKind.Read, unit, RegisterTable.Holding, pdu, 1),
            ModbusFunctionCode.ReadInputRegisters => Range(policy, role, AccessKind.Read, unit, RegisterTable.Input, pdu, 1),
            ModbusFunctionCode.WriteSingleCoil => Single(policy, role, AccessKind.Write, unit, RegisterTable.Coils, pdu),
            ModbusFunctionCode.WriteSingleRegister or ModbusFunctionCode.MaskWriteRegister => Single(policy, role, AccessKind.Write, unit, RegisterTable.Holding, pdu),
            ModbusFunctionCode.WriteMultipleCoils => Range(policy, role, AccessKind.Write, unit, RegisterTable.Coils, pdu, 1),
            ModbusFunctionCode.WriteMultipleRegisters => Range(policy, role, AccessKind.Write, unit, RegisterTable.Holding, pdu, 1),
            // 6.17: read starting address and quantity, then write starting address and quantity.
            ModbusFunctionCode.ReadWriteMultipleRegisters => Range(policy, role, AccessKind.Read, unit, RegisterTable.Holding, pdu, 1)
                && Range(policy, role, AccessKind.Write, unit, RegisterTable.Holding, pdu, 5),
            // 6.18: the FIFO pointer address names the holding register that counts the queue.
            ModbusFunctionCode.ReadFifoQueue => Single(policy, role, AccessKind.Read, unit, RegisterTable.Holding, pdu),
            ModbusFunctionCode.ReadExceptionStatus or ModbusFunctionCode.Diagnostics or ModbusFunctionCode.GetCommEventCounter
                or ModbusFunctionCode.GetCommEventLog or ModbusFunctionCode.ReportServerId or ModbusFunctionCode.ReadFileRecord
                or ModbusFunctionCode.EncapsulatedInterfaceTransport => policy.AllowsDevice(role, AccessKind.Read, unit, narrowedRulesCount: true),
            _ => policy.AllowsDevice(role, AccessKind.Write, unit, narrowedRulesCount: false),
        };
    }

    /// <summary>
    /// For a request that writes coils or registers: the table, first address and count it writes (the write half of
    /// FC23), for the audit line; false for any other request.
    /// </summary>
    public static bool TryDescribeWrite(ReadOnlySpan<byte> pdu, out RegisterTable table, out int address, out int count)
    {
        (table, address, count) = (RegisterTable.Holding, 0, 0);
        if (pdu.Length < 3)
        {
            return false;
        }

        var function = (ModbusFunctionCode)pdu[0];
        table = function is ModbusFunctionCode.WriteSingleCoil or ModbusFunctionCode.WriteMultipleCoils ? RegisterTable.Coils : RegisterTable.Holding;
        var offset = function == ModbusFunctionCode.ReadWriteMultipleRegisters ? 5 : 1;
        var single = function is ModbusFunctionCode.WriteSingleCoil or ModbusFunctionCode.WriteSingleRegister or ModbusFunctionCode.MaskWriteRegister;
        var multiple = function is ModbusFunctionCode.WriteMultipleCoils or ModbusFunctionCode.WriteMultipleRegisters or ModbusFunctionCode.ReadWriteMultipleRegisters;
        if (!(single || multiple) || pdu.Length < offset + (single ? 2 : 4))
        {
            return false;
        }

        address = BinaryPrimitives.ReadUInt16BigEndian(pdu[offset..]);
        count = single ? 1 : BinaryPrimitives.ReadUInt16BigEndian(pdu[(offset + 2)..]);
        return true;
    }

    /// <summary>A starting address at <paramref name="offset"/> and a quantity after it; a PDU too short to say is allowed only as an unnamed write.</summary>
    private static bool Range(RolePolicy policy, string? role, AccessKind access, byte unit, RegisterTable table, ReadOnlySpan<byte> pdu, int offset) =>
        pdu.Length >= offset + 4
            ? policy.AllowsRegisters(role, access, unit, table, BinaryPrimitives.ReadUInt16BigEndian(pdu[offset..]), Math.Max(1, (int)BinaryPrimitives.ReadUInt16BigEndian(pdu[(offset + 2)..])))
            : policy.AllowsDevice(role, AccessKind.Write, unit, narrowedRulesCount: false);

    private static bool Single(RolePolicy policy, string? role, AccessKind access, byte unit, RegisterTable table, ReadOnlySpan<byte> pdu) =>
        pdu.Length >= 3
            ? policy.AllowsRegisters(role, access, unit, table, BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]), 1)
            : policy.AllowsDevice(role, AccessKind.Write, unit, narrowedRulesCount: false);
}
