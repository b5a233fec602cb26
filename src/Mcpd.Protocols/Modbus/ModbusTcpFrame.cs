using System.Buffers;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// One decoded Modbus TCP ADU. <see cref="Pdu"/> borrows the reader's memory: it is valid only until the
/// reader advances past the frame.
/// </summary>
public readonly struct ModbusTcpFrame
{
    /// <summary>Creates a frame from its header and PDU bytes.</summary>
    public ModbusTcpFrame(MbapHeader header, ReadOnlySequence<byte> pdu)
    {
        Header = header;
        Pdu = pdu;
    }

    /// <summary>The MBAP header as received.</summary>
    public MbapHeader Header { get; }

    /// <summary>Function code and data; empty when the header alone was decoded (invalid length).</summary>
    public ReadOnlySequence<byte> Pdu { get; }

    /// <summary>
    /// Copies the PDU into <paramref name="destination"/> (at least <see cref="ModbusLimits.MaxPduLength"/> bytes)
    /// and returns the copied span; a PDU in one segment is copied with one block copy.
    /// </summary>
    public ReadOnlySpan<byte> CopyPduTo(Span<byte> destination)
    {
        Pdu.CopyTo(destination);
        return destination[..(int)Pdu.Length];
    }
}
