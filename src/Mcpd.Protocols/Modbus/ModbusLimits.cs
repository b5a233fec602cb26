namespace Mcpd.Protocols.Modbus;

/// <summary>Size and quantity limits of Modbus Application Protocol V1.1b3 and the TCP/IP Implementation Guide.</summary>
public static class ModbusLimits
{
    /// <summary>Largest PDU (function code + data): 256-byte serial ADU minus address and CRC (4.1).</summary>
    public const int MaxPduLength = 253;

    /// <summary>The MBAP header: transaction id, protocol id, length, unit id (Implementation Guide 3.1.3).</summary>
    public const int MbapHeaderLength = 7;

    /// <summary>Largest Modbus TCP ADU: MBAP header plus the largest PDU.</summary>
    public const int MaxTcpAduLength = MbapHeaderLength + MaxPduLength;

    /// <summary>Smallest MBAP length field: unit id plus a function code.</summary>
    public const int MinMbapLength = 2;

    /// <summary>Largest MBAP length field: unit id plus the largest PDU.</summary>
    public const int MaxMbapLength = 1 + MaxPduLength;

    /// <summary>FC01/FC02 quantity of bits, 1..2000 (6.1, 6.2).</summary>
    public const int MaxReadBits = 2000;

    /// <summary>FC03/FC04 quantity of registers, 1..125 (6.3, 6.4).</summary>
    public const int MaxReadRegisters = 125;

    /// <summary>FC0F quantity of outputs, 1..1968 (6.11).</summary>
    public const int MaxWriteBits = 1968;

    /// <summary>FC10 quantity of registers, 1..123 (6.12).</summary>
    public const int MaxWriteRegisters = 123;

    /// <summary>FC17 quantity to read, 1..125 (6.17).</summary>
    public const int MaxReadWriteReadRegisters = 125;

    /// <summary>FC17 quantity to write, 1..121 (6.17).</summary>
    public const int MaxReadWriteWriteRegisters = 121;

    /// <summary>Number of addresses in each of the four tables (16-bit address, 6.x "Starting Address 0x0000 to 0xFFFF").</summary>
    public const int AddressSpace = 65536;

    /// <summary>Bit set in the function code of an exception response (7).</summary>
    public const byte ExceptionFlag = 0x80;
}
