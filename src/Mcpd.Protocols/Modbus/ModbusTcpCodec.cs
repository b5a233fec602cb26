using System.Buffers;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Modbus TCP framing (Implementation Guide 3.1.3): MBAP header, then <c>Length - 1</c> PDU bytes.
/// Requests and responses share the framing, so the client and the server both use this codec.
/// </summary>
public static class ModbusTcpCodec
{
    /// <summary>
    /// Decodes the first ADU of <paramref name="buffer"/>.
    /// <list type="bullet">
    /// <item><see cref="OperationStatus.Done"/>: <paramref name="frame"/> holds the ADU, <paramref name="consumed"/> is its end.</item>
    /// <item><see cref="OperationStatus.NeedMoreData"/>: the ADU is incomplete; nothing is consumed.</item>
    /// <item><see cref="OperationStatus.InvalidData"/>: the length field is outside 2..254, decided as soon as the
    /// header is in, without waiting for a payload that may never come; <paramref name="frame"/> carries the header.
    /// The stream cannot be resynchronised (TCP framing has no marker), so the connection must close.</item>
    /// </list>
    /// Frames with a non-zero protocol id are returned as <see cref="OperationStatus.Done"/>: the caller skips them.
    /// </summary>
    public static OperationStatus Decode(in ReadOnlySequence<byte> buffer, out ModbusTcpFrame frame, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        if (buffer.Length < ModbusLimits.MbapHeaderLength)
        {
            frame = default;
            return OperationStatus.NeedMoreData;
        }

        var header = ReadHeader(buffer);
        if (header.Length is < ModbusLimits.MinMbapLength or > ModbusLimits.MaxMbapLength)
        {
            frame = new ModbusTcpFrame(header, ReadOnlySequence<byte>.Empty);
            return OperationStatus.InvalidData;
        }

        long aduLength = ModbusLimits.MbapHeaderLength - 1 + header.Length;
        if (buffer.Length < aduLength)
        {
            frame = default;
            return OperationStatus.NeedMoreData;
        }

        frame = new ModbusTcpFrame(header, buffer.Slice(ModbusLimits.MbapHeaderLength, header.PduLength));
        consumed = buffer.GetPosition(aduLength);
        return OperationStatus.Done;
    }

    /// <summary>
    /// Writes one ADU: the header (with the length field computed from <paramref name="pdu"/>) and the PDU.
    /// </summary>
    public static void Encode(ushort transactionId, byte unitId, ReadOnlySpan<byte> pdu, IBufferWriter<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfZero(pdu.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pdu.Length, ModbusLimits.MaxPduLength);
        var aduLength = ModbusLimits.MbapHeaderLength + pdu.Length;
        var span = output.GetSpan(aduLength);
        new MbapHeader(transactionId, 0, (ushort)(pdu.Length + 1), unitId).Write(span);
        pdu.CopyTo(span[ModbusLimits.MbapHeaderLength..]);
        output.Advance(aduLength);
    }

    private static MbapHeader ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= ModbusLimits.MbapHeaderLength)
        {
            return MbapHeader.Read(first);
        }

        // The header straddles segments (a request split across TCP reads): gather it on the stack.
        Span<byte> header = stackalloc byte[ModbusLimits.MbapHeaderLength];
        buffer.Slice(0, ModbusLimits.MbapHeaderLength).CopyTo(header);
        return MbapHeader.Read(header);
    }
}
