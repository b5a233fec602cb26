using System.Buffers;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// One decoded Modbus RTU ADU. <see cref="Pdu"/> borrows the reader's memory: it is valid only until the reader
/// advances past the frame.
/// </summary>
public readonly struct ModbusRtuFrame
{
    /// <summary>Creates a frame from its address, PDU bytes and what was wrong with it.</summary>
    public ModbusRtuFrame(byte unit, ReadOnlySequence<byte> pdu, ModbusRtuError error)
    {
        Unit = unit;
        Pdu = pdu;
        Error = error;
    }

    /// <summary>The address byte: the slave addressed (request) or answering (response); 0 is broadcast.</summary>
    public byte Unit { get; }

    /// <summary>Function code and data; empty when the length could not be found.</summary>
    public ReadOnlySequence<byte> Pdu { get; }

    /// <summary>What was wrong, for an <see cref="System.Buffers.OperationStatus.InvalidData"/> decode.</summary>
    public ModbusRtuError Error { get; }
}

/// <summary>Why an RTU frame did not decode.</summary>
public enum ModbusRtuError : byte
{
    /// <summary>Nothing: the frame is intact.</summary>
    None,
    /// <summary>The CRC does not match; the frame's extent is known and it can be skipped.</summary>
    CrcMismatch,
    /// <summary>A function code (or MEI type) whose frame length is not known; the stream must resynchronise.</summary>
    UnknownFunction,
    /// <summary>The counts announce a frame longer than 256 bytes; the stream must resynchronise.</summary>
    InvalidLength,
}
