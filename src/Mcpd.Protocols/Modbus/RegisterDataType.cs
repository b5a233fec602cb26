namespace Mcpd.Protocols.Modbus;

#pragma warning disable CA1720 // The names are the ones device manuals and the config file use (uint16, float32, ...).

/// <summary>How a value is laid over one or more 16-bit registers.</summary>
public enum RegisterDataType
{
    /// <summary>One register, 0..65535.</summary>
    UInt16,
    /// <summary>One register, two's complement, -32768..32767.</summary>
    Int16,
    /// <summary>Two registers, 0..4294967295.</summary>
    UInt32,
    /// <summary>Two registers, two's complement.</summary>
    Int32,
    /// <summary>Two registers, IEEE 754 single precision.</summary>
    Float32,
    /// <summary>N registers, two ASCII/UTF-8 bytes each, high byte first, padded with NUL.</summary>
    String,
}
