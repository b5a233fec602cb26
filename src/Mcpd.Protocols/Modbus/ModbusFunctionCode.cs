namespace Mcpd.Protocols.Modbus;

/// <summary>Public function codes of the Modbus Application Protocol V1.1b3, section 5.1.</summary>
public enum ModbusFunctionCode : byte
{
    /// <summary>01 Read Coils (6.1).</summary>
    ReadCoils = 0x01,
    /// <summary>02 Read Discrete Inputs (6.2).</summary>
    ReadDiscreteInputs = 0x02,
    /// <summary>03 Read Holding Registers (6.3).</summary>
    ReadHoldingRegisters = 0x03,
    /// <summary>04 Read Input Registers (6.4).</summary>
    ReadInputRegisters = 0x04,
    /// <summary>05 Write Single Coil (6.5).</summary>
    WriteSingleCoil = 0x05,
    /// <summary>06 Write Single Register (6.6).</summary>
    WriteSingleRegister = 0x06,
    /// <summary>07 Read Exception Status, serial line only (6.7).</summary>
    ReadExceptionStatus = 0x07,
    /// <summary>08 Diagnostics, serial line only (6.8).</summary>
    Diagnostics = 0x08,
    /// <summary>0B Get Comm Event Counter, serial line only (6.9).</summary>
    GetCommEventCounter = 0x0B,
    /// <summary>0C Get Comm Event Log, serial line only (6.10).</summary>
    GetCommEventLog = 0x0C,
    /// <summary>0F Write Multiple Coils (6.11).</summary>
    WriteMultipleCoils = 0x0F,
    /// <summary>10 Write Multiple Registers (6.12).</summary>
    WriteMultipleRegisters = 0x10,
    /// <summary>11 Report Server ID, serial line only (6.13).</summary>
    ReportServerId = 0x11,
    /// <summary>14 Read File Record (6.14).</summary>
    ReadFileRecord = 0x14,
    /// <summary>15 Write File Record (6.15).</summary>
    WriteFileRecord = 0x15,
    /// <summary>16 Mask Write Register (6.16).</summary>
    MaskWriteRegister = 0x16,
    /// <summary>17 Read/Write Multiple Registers (6.17).</summary>
    ReadWriteMultipleRegisters = 0x17,
    /// <summary>18 Read FIFO Queue (6.18).</summary>
    ReadFifoQueue = 0x18,
    /// <summary>2B Encapsulated Interface Transport; MEI type 0x0E is Read Device Identification (6.21).</summary>
    EncapsulatedInterfaceTransport = 0x2B,
}
