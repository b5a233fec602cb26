using System.Buffers;
using System.Buffers.Binary;
using Mcpd.Protocols.Framing;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Modbus RTU framing (Serial Line V1.02, 2.5.1): <c>address u8 | PDU | CRC-16/MODBUS, low byte first</c>, at most
/// 256 bytes. RTU has no length field: a frame's end is found from its function code (Application Protocol 6.x),
/// which differs between requests (a slave decoding) and responses (a master decoding). On a real line the frame
/// is also delimited by a silent interval of 3.5 characters (<see cref="ModbusRtuTiming"/>); this codec does not
/// need it, so frames back to back in one buffer decode one after the other.
/// </summary>
public static class ModbusRtuCodec
{
    /// <summary>Address byte before the PDU.</summary>
    public const int AddressLength = 1;

    /// <summary>CRC after the PDU.</summary>
    public const int CrcLength = 2;

    /// <summary>Largest ADU: 256 bytes (Serial Line 2.5.1).</summary>
    public const int MaxAduLength = AddressLength + ModbusLimits.MaxPduLength + CrcLength;

    /// <summary>Decodes the first request ADU of <paramref name="buffer"/>, as a slave does (see <see cref="Decode"/>).</summary>
    public static OperationStatus DecodeRequest(in ReadOnlySequence<byte> buffer, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        Decode(buffer, isResponse: false, out frame, out consumed);

    /// <summary>
    /// Decodes the first response ADU of <paramref name="buffer"/>, its request unknown (see <see cref="Decode"/>): an
    /// FC08/00 echo, whose length only its request tells, is then framed by its CRC as that request is. A master
    /// knows its request and frames with it (the overload with the request).
    /// </summary>
    public static OperationStatus DecodeResponse(in ReadOnlySequence<byte> buffer, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        Decode(buffer, isResponse: true, out frame, out consumed);

    /// <summary>
    /// Decodes the first response ADU of <paramref name="buffer"/> as the master that sent <paramref name="request"/>
    /// does: one request at a time on the line (Serial Line 2.1), so an answer whose length follows from its request
    /// (FC08/00 is as long as its request, Application Protocol 6.8.1) is framed by it (see <see cref="Decode"/>).
    /// </summary>
    public static OperationStatus DecodeResponse(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> request, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        DecodeFrame(buffer, isResponse: true, request, out frame, out consumed);

    /// <summary>
    /// Decodes the first ADU of <paramref name="buffer"/>, a request or a response to an unknown request.
    /// <list type="bullet">
    /// <item><see cref="OperationStatus.Done"/>: <paramref name="frame"/> holds the ADU, <paramref name="consumed"/> is its end.</item>
    /// <item><see cref="OperationStatus.NeedMoreData"/>: the ADU is incomplete; nothing is consumed.</item>
    /// <item><see cref="OperationStatus.InvalidData"/> with <see cref="ModbusRtuError.CrcMismatch"/>: the frame's
    /// length was known but its CRC is wrong; <paramref name="consumed"/> is its end, so the caller can drop it and go
    /// on with the next frame.</item>
    /// <item><see cref="OperationStatus.InvalidData"/> with <see cref="ModbusRtuError.UnknownFunction"/> or
    /// <see cref="ModbusRtuError.InvalidLength"/>: the length cannot be known; nothing is consumed. The caller must
    /// resynchronise (drop bytes until the line is silent, Serial Line 2.5.1.1).</item>
    /// </list>
    /// </summary>
    public static OperationStatus Decode(in ReadOnlySequence<byte> buffer, bool isResponse, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        DecodeFrame(buffer, isResponse, ReadOnlySpan<byte>.Empty, out frame, out consumed);

    private static OperationStatus DecodeFrame(in ReadOnlySequence<byte> buffer, bool isResponse, ReadOnlySpan<byte> request, out ModbusRtuFrame frame, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        frame = default;
        // An ADU is at most 256 bytes: its lengths are found on a copy of the first ones, on the stack.
        Span<byte> head = stackalloc byte[MaxAduLength];
        var available = (int)Math.Min(buffer.Length, MaxAduLength);
        buffer.Slice(0, available).CopyTo(head);
        head = head[..available];
        if (head.Length < AddressLength + 1)
        {
            return OperationStatus.NeedMoreData;
        }

        var status = isResponse
            ? ModbusFunctionTable.ResponseLength(head[AddressLength..], request, out var pduLength, out var openEnded)
            : ModbusFunctionTable.RequestLength(head[AddressLength..], out pduLength, out openEnded);
        if (status == OperationStatus.Done && openEnded)
        {
            status = CrcDelimitedPduLength(head, ref pduLength);
        }

        if (status == OperationStatus.InvalidData || (status == OperationStatus.Done && pduLength > ModbusLimits.MaxPduLength))
        {
            frame = new ModbusRtuFrame(head[0], ReadOnlySequence<byte>.Empty, status == OperationStatus.InvalidData && !openEnded ? ModbusRtuError.UnknownFunction : ModbusRtuError.InvalidLength);
            return OperationStatus.InvalidData;
        }

        var aduLength = AddressLength + pduLength + CrcLength;
        if (status == OperationStatus.NeedMoreData || head.Length < aduLength)
        {
            return OperationStatus.NeedMoreData;
        }

        var pdu = buffer.Slice(AddressLength, pduLength);
        var received = BinaryPrimitives.ReadUInt16LittleEndian(head[(AddressLength + pduLength)..]);
        var valid = Crc16Modbus.Compute(head[..(AddressLength + pduLength)]) == received;
        frame = new ModbusRtuFrame(head[0], pdu, valid ? ModbusRtuError.None : ModbusRtuError.CrcMismatch);
        consumed = buffer.GetPosition(aduLength);
        return valid ? OperationStatus.Done : OperationStatus.InvalidData;
    }

    /// <summary>Writes one ADU into <paramref name="destination"/> and returns its length.</summary>
    public static int Encode(byte unit, ReadOnlySpan<byte> pdu, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfZero(pdu.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pdu.Length, ModbusLimits.MaxPduLength);
        var aduLength = AddressLength + pdu.Length + CrcLength;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, aduLength);
        destination[0] = unit;
        pdu.CopyTo(destination[AddressLength..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[(AddressLength + pdu.Length)..], Crc16Modbus.Compute(destination[..(AddressLength + pdu.Length)]));
        return aduLength;
    }

    /// <summary>Writes one ADU to <paramref name="output"/>.</summary>
    public static void Encode(byte unit, ReadOnlySpan<byte> pdu, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Advance(Encode(unit, pdu, output.GetSpan(AddressLength + pdu.Length + CrcLength)));
    }

    /// <summary>
    /// The length of an open-ended PDU (an FC08/00 request, or its echo when the request is unknown: any number of
    /// data words, Application Protocol 6.8.1), at least <paramref name="pduLength"/>. On a line its end is the silence t3.5 (Serial Line 2.5.1.1), which this
    /// codec does not see: the frame ends at the first whole data word followed by a matching CRC. The
    /// CRC is carried along, so each byte is looked at once. InvalidData when no length up to the largest ADU fits.
    /// </summary>
    private static OperationStatus CrcDelimitedPduLength(ReadOnlySpan<byte> head, ref int pduLength)
    {
        const int wordLength = 2;
        var end = AddressLength + pduLength;
        if (head.Length < end + CrcLength)
        {
            return OperationStatus.NeedMoreData;
        }

        var crc = Crc16Modbus.Update(Crc16Modbus.Initial, head[..end]);
        for (; end + CrcLength <= head.Length; end += wordLength)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(head[end..]) == crc)
            {
                pduLength = end - AddressLength;
                return OperationStatus.Done;
            }

            if (end + wordLength + CrcLength > head.Length)
            {
                break;
            }

            crc = Crc16Modbus.Update(crc, head.Slice(end, wordLength));
        }

        return head.Length < MaxAduLength ? OperationStatus.NeedMoreData : OperationStatus.InvalidData;
    }
}
