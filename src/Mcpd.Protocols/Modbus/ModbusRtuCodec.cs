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

    /// <summary>Decodes the first request ADU of <paramref name="buffer"/> (see <see cref="Decode"/>).</summary>
    public static OperationStatus DecodeRequest(in ReadOnlySequence<byte> buffer, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        Decode(buffer, isResponse: false, out frame, out consumed);

    /// <summary>Decodes the first response ADU of <paramref name="buffer"/> (see <see cref="Decode"/>).</summary>
    public static OperationStatus DecodeResponse(in ReadOnlySequence<byte> buffer, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        Decode(buffer, isResponse: true, out frame, out consumed);

    /// <summary>
    /// Decodes the first ADU of <paramref name="buffer"/>.
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
    public static OperationStatus Decode(in ReadOnlySequence<byte> buffer, bool isResponse, out ModbusRtuFrame frame, out SequencePosition consumed)
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

        var status = isResponse ? ResponsePduLength(head[AddressLength..], out var pduLength) : RequestPduLength(head[AddressLength..], out pduLength);
        if (status == OperationStatus.InvalidData || (status == OperationStatus.Done && pduLength > ModbusLimits.MaxPduLength))
        {
            frame = new ModbusRtuFrame(head[0], ReadOnlySequence<byte>.Empty, status == OperationStatus.InvalidData ? ModbusRtuError.UnknownFunction : ModbusRtuError.InvalidLength);
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
    /// The length of the request PDU that starts <paramref name="pdu"/> (function code first), from the request
    /// layouts of Application Protocol 6.x: fixed, or a byte count at a fixed offset.
    /// </summary>
    public static OperationStatus RequestPduLength(ReadOnlySpan<byte> pdu, out int length)
    {
        length = 0;
        if (pdu.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        switch (pdu[0])
        {
            case 0x07 or 0x0B or 0x0C or 0x11:
                length = 1; // function code only (6.7, 6.9, 6.10, 6.13)
                return OperationStatus.Done;
            case 0x18:
                length = 3; // FIFO pointer address (6.19)
                return OperationStatus.Done;
            case 0x01 or 0x02 or 0x03 or 0x04 or 0x05 or 0x06 or 0x08:
                length = 5; // address or sub-function, quantity or value (6.1..6.6, 6.8)
                return OperationStatus.Done;
            case 0x16:
                length = 7; // address, AND mask, OR mask (6.16)
                return OperationStatus.Done;
            case 0x0F or 0x10:
                return ByteCounted(pdu, countOffset: 5, out length); // address, quantity, byte count (6.11, 6.12)
            case 0x17:
                return ByteCounted(pdu, countOffset: 9, out length); // read and write address and quantity, byte count (6.17)
            case 0x14 or 0x15:
                return ByteCounted(pdu, countOffset: 1, out length); // byte count of the sub-requests (6.14, 6.15)
            case 0x2B:
                // MEI type, then for 0x0E Read Device Identification: code and object id (6.21).
                if (pdu.Length < 2)
                {
                    return OperationStatus.NeedMoreData;
                }

                length = 4;
                return pdu[1] == 0x0E ? OperationStatus.Done : OperationStatus.InvalidData;
            default:
                return OperationStatus.InvalidData;
        }
    }

    /// <summary>
    /// The length of the response PDU that starts <paramref name="pdu"/> (function code first), from the response
    /// layouts of Application Protocol 6.x; an exception response (function | 0x80, 7) is always 2 bytes.
    /// </summary>
    public static OperationStatus ResponsePduLength(ReadOnlySpan<byte> pdu, out int length)
    {
        length = 0;
        if (pdu.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        if ((pdu[0] & ModbusLimits.ExceptionFlag) != 0)
        {
            length = 2;
            return OperationStatus.Done;
        }

        switch (pdu[0])
        {
            case 0x07:
                length = 2; // output data (6.7)
                return OperationStatus.Done;
            case 0x05 or 0x06 or 0x08 or 0x0B or 0x0F or 0x10:
                length = 5; // echo, or two words (6.5, 6.6, 6.8, 6.9, 6.11, 6.12)
                return OperationStatus.Done;
            case 0x16:
                length = 7; // echo of the request (6.16)
                return OperationStatus.Done;
            case 0x01 or 0x02 or 0x03 or 0x04 or 0x0C or 0x11 or 0x14 or 0x15 or 0x17:
                return ByteCounted(pdu, countOffset: 1, out length); // function, byte count, data
            case 0x18:
                // A 16-bit byte count (of FIFO count and values) after the function code (6.19).
                if (pdu.Length < 3)
                {
                    return OperationStatus.NeedMoreData;
                }

                length = 3 + BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]);
                return OperationStatus.Done;
            case 0x2B:
                return DeviceIdentificationLength(pdu, out length);
            default:
                return OperationStatus.InvalidData;
        }
    }

    private static OperationStatus ByteCounted(ReadOnlySpan<byte> pdu, int countOffset, out int length)
    {
        length = 0;
        if (pdu.Length <= countOffset)
        {
            return OperationStatus.NeedMoreData;
        }

        length = countOffset + 1 + pdu[countOffset];
        return OperationStatus.Done;
    }

    /// <summary>
    /// FC2B/0E response (6.21): function, MEI type, code, conformity, more follows, next object id, number of objects,
    /// then per object its id, length and value. No total length: the objects are walked one by one.
    /// </summary>
    private static OperationStatus DeviceIdentificationLength(ReadOnlySpan<byte> pdu, out int length)
    {
        const int headerLength = 7;
        length = 0;
        if (pdu.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        if (pdu[1] != 0x0E)
        {
            return OperationStatus.InvalidData;
        }

        if (pdu.Length < headerLength)
        {
            return OperationStatus.NeedMoreData;
        }

        var offset = headerLength;
        for (var remaining = pdu[headerLength - 1]; remaining > 0; remaining--)
        {
            if (pdu.Length < offset + 2)
            {
                return offset + 2 > ModbusLimits.MaxPduLength ? Overlong(out length) : OperationStatus.NeedMoreData;
            }

            offset += 2 + pdu[offset + 1];
            if (offset > ModbusLimits.MaxPduLength)
            {
                return Overlong(out length);
            }
        }

        length = offset;
        return OperationStatus.Done;
    }

    /// <summary>A length past the largest PDU: reported as Done with that length, which the caller rejects.</summary>
    private static OperationStatus Overlong(out int length)
    {
        length = ModbusLimits.MaxPduLength + 1;
        return OperationStatus.Done;
    }
}
