using System.Buffers;
using System.Buffers.Binary;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// What mcpd knows of one function code (Modbus Application Protocol V1.1b3, section 6): how long its request and
/// response PDUs are, what a normal response repeats of its request, the shortest request that can be executed, and
/// whether it only reads. One entry per code in <see cref="ModbusFunctionTable"/>; codes with the exception flag
/// (section 7) and codes the table does not know have <see cref="IsKnown"/> false.
/// </summary>
public readonly struct ModbusFunctionDescriptor
{
    /// <summary>FC08 sub-function 00 Return Query Data (6.8.1): any data, looped back whole.</summary>
    internal const ushort ReturnQueryData = 0x0000;

    /// <summary>FC08 sub-function 04 Force Listen Only Mode (6.8.1): the server goes silent and returns no response.</summary>
    internal const ushort ForceListenOnlyMode = 0x0004;

    /// <summary>Function code and sub-function of FC08 (6.8).</summary>
    private const int DiagnosticsHeaderLength = 3;

    /// <summary>FC08: the sub-function, then one data word (6.8).</summary>
    private const int DiagnosticsPduLength = DiagnosticsHeaderLength + 2;

    /// <summary>FC2B/0E request: function, MEI type, Read Device ID code, object id (6.21).</summary>
    private const int DeviceIdentificationRequestLength = 4;

    /// <summary>Function code and MEI type of FC2B (6.19).</summary>
    private const int MeiHeaderLength = 2;

    /// <summary>Offset of the quantity word in the read requests (6.1-6.4, 6.17).</summary>
    private const int QuantityOffset = 3;

    private readonly byte _requestValue;
    private readonly byte _responseValue;
    private readonly bool _sideEffectFree;

    internal ModbusFunctionDescriptor(
        ModbusFunctionCode code,
        ModbusPduLayout requestLayout,
        byte requestValue,
        ModbusPduLayout responseLayout,
        byte responseValue,
        ModbusResponseShape shape,
        int minRequestLength,
        bool sideEffectFree)
    {
        Code = code;
        RequestLayout = requestLayout;
        _requestValue = requestValue;
        ResponseLayout = responseLayout;
        _responseValue = responseValue;
        Shape = shape;
        MinRequestLength = minRequestLength;
        _sideEffectFree = sideEffectFree;
    }

    /// <summary>The function code.</summary>
    public ModbusFunctionCode Code { get; }

    /// <summary>True for the functions of section 6 this table describes.</summary>
    public bool IsKnown => RequestLayout != ModbusPduLayout.Unknown;

    /// <summary>How a request's length is found.</summary>
    public ModbusPduLayout RequestLayout { get; }

    /// <summary>How a normal response's length is found.</summary>
    public ModbusPduLayout ResponseLayout { get; }

    /// <summary>What a normal response repeats of its request.</summary>
    public ModbusResponseShape Shape { get; }

    /// <summary>
    /// The shortest request that carries every field of the function's request layout (function code included);
    /// 1 for an unknown function. A shorter one cannot be executed, nor framed by an RTU slave.
    /// </summary>
    public int MinRequestLength { get; }

    /// <summary>
    /// True when executing <paramref name="request"/> changes nothing on the device (6.1-6.4, 6.7, 6.9, 6.10, 6.13,
    /// 6.14, 6.18, and FC2B only with MEI 0x0E, 6.21), so sending it twice is harmless. FC08 is not: some of its
    /// sub-functions restart the device or clear its counters (6.8.1).
    /// </summary>
    public bool IsSideEffectFree(ReadOnlySpan<byte> request) =>
        _sideEffectFree
        && (RequestLayout != ModbusPduLayout.EncapsulatedInterface
            || (request.Length >= MeiHeaderLength && request[1] == DeviceIdentificationObjects.MeiType));

    /// <summary>
    /// True when a server that executes <paramref name="request"/> returns no response: FC08 sub-function 04 Force
    /// Listen Only Mode (6.8.1). (Broadcasts, to unit 0, are the other requests nothing answers.)
    /// </summary>
    public bool IsAnsweredBySilence(ReadOnlySpan<byte> request) =>
        RequestLayout == ModbusPduLayout.Diagnostics
        && request.Length >= DiagnosticsHeaderLength
        && BinaryPrimitives.ReadUInt16BigEndian(request[1..]) == ForceListenOnlyMode;

    /// <summary>
    /// The length of the request PDU at the start of <paramref name="pdu"/> (function code first). When
    /// <paramref name="openEnded"/> is true the request is at least <paramref name="length"/> bytes and its end is
    /// known only from the framing (FC08/00, whose data may be any number of words). InvalidData: the length cannot
    /// be known (unknown function or MEI type).
    /// </summary>
    public OperationStatus RequestLength(ReadOnlySpan<byte> pdu, out int length, out bool openEnded)
    {
        openEnded = false;
        switch (RequestLayout)
        {
            case ModbusPduLayout.Diagnostics:
                return DiagnosticsLength(pdu, out length, out openEnded);
            case ModbusPduLayout.EncapsulatedInterface:
                length = DeviceIdentificationRequestLength;
                return pdu.Length < MeiHeaderLength ? NeedMore(out length)
                    : pdu[1] == DeviceIdentificationObjects.MeiType ? OperationStatus.Done
                    : OperationStatus.InvalidData;
            default:
                return Measure(RequestLayout, _requestValue, pdu, out length);
        }
    }

    /// <summary>
    /// The length of the normal response PDU at the start of <paramref name="pdu"/>, answering
    /// <paramref name="request"/> (empty when unknown). A response whose length only its request tells is measured
    /// by it: FC08/00 is exactly as long as its request (6.8.1). With the request unknown, such a response is
    /// open-ended like the request it echoes (<paramref name="openEnded"/>: at least <paramref name="length"/> bytes,
    /// its end known only from the framing). Answering another request, it cannot be the answer: it is measured at
    /// its shortest (one data word), enough to drop it, or to resynchronise when its CRC then fails.
    /// Exception responses are <see cref="ModbusFunctionTable.ResponseLength"/>'s.
    /// </summary>
    public OperationStatus ResponseLength(ReadOnlySpan<byte> pdu, ReadOnlySpan<byte> request, out int length, out bool openEnded)
    {
        openEnded = false;
        switch (ResponseLayout)
        {
            case ModbusPduLayout.Diagnostics when IsReturnQueryData(request):
                length = request.Length;
                return OperationStatus.Done;
            case ModbusPduLayout.Diagnostics:
                var status = DiagnosticsLength(pdu, out length, out openEnded);
                openEnded &= request.IsEmpty;
                return status;
            case ModbusPduLayout.EncapsulatedInterface:
                return DeviceIdentificationLength(pdu, out length);
            default:
                return Measure(ResponseLayout, _responseValue, pdu, out length);
        }
    }

    /// <summary>
    /// What the normal response to <paramref name="request"/> must be: its <paramref name="length"/> when the request
    /// fixes it (else 0) and how many of its first bytes repeat the request (<paramref name="echoed"/>, the function
    /// code at least). False when the request is shorter than <see cref="MinRequestLength"/>: no response answers it.
    /// </summary>
    public bool TryDescribeResponse(ReadOnlySpan<byte> request, out int length, out int echoed)
    {
        length = 0;
        echoed = 1;
        if (request.Length < MinRequestLength)
        {
            return false;
        }

        switch (Shape)
        {
            case ModbusResponseShape.PackedBits:
                length = 2 + ModbusDataEncoding.PackedBitLength(BinaryPrimitives.ReadUInt16BigEndian(request[QuantityOffset..]));
                break;
            case ModbusResponseShape.Registers:
                length = 2 + (2 * BinaryPrimitives.ReadUInt16BigEndian(request[QuantityOffset..]));
                break;
            case ModbusResponseShape.Echo:
                length = echoed = _responseValue;
                break;
            case ModbusResponseShape.Diagnostics when IsReturnQueryData(request):
                length = echoed = request.Length;
                break;
            case ModbusResponseShape.Diagnostics:
                length = DiagnosticsPduLength;
                echoed = DiagnosticsHeaderLength;
                break;
            case ModbusResponseShape.EncapsulatedInterface:
                echoed = MeiHeaderLength;
                break;
        }

        return true;
    }

    private static bool IsReturnQueryData(ReadOnlySpan<byte> request) =>
        request.Length >= DiagnosticsHeaderLength
        && request[0] == (byte)ModbusFunctionCode.Diagnostics
        && BinaryPrimitives.ReadUInt16BigEndian(request[1..]) == ReturnQueryData;

    /// <summary>The layouts requests and responses share: a fixed length, or a byte count at the offset <paramref name="value"/>.</summary>
    private static OperationStatus Measure(ModbusPduLayout layout, byte value, ReadOnlySpan<byte> pdu, out int length)
    {
        const int wordCountLength = 2;
        length = 0;
        switch (layout)
        {
            case ModbusPduLayout.Fixed:
                length = value;
                return OperationStatus.Done;
            case ModbusPduLayout.ByteCount when pdu.Length > value:
                length = value + 1 + pdu[value];
                return OperationStatus.Done;
            case ModbusPduLayout.WordByteCount when pdu.Length >= value + wordCountLength:
                length = value + wordCountLength + BinaryPrimitives.ReadUInt16BigEndian(pdu[value..]);
                return OperationStatus.Done;
            case ModbusPduLayout.ByteCount or ModbusPduLayout.WordByteCount:
                return OperationStatus.NeedMoreData;
            default:
                return OperationStatus.InvalidData;
        }
    }

    /// <summary>FC08 (6.8): sub-function and one data word; sub-function 00 is open-ended from its first data word.</summary>
    private static OperationStatus DiagnosticsLength(ReadOnlySpan<byte> pdu, out int length, out bool openEnded)
    {
        openEnded = false;
        if (pdu.Length < DiagnosticsHeaderLength)
        {
            return NeedMore(out length);
        }

        length = DiagnosticsPduLength;
        openEnded = BinaryPrimitives.ReadUInt16BigEndian(pdu[1..]) == ReturnQueryData;
        return OperationStatus.Done;
    }

    /// <summary>
    /// FC2B/0E response (6.21): function, MEI type, code, conformity, more follows, next object id, number of objects,
    /// then per object its id, length and value. No total length: the objects are walked one by one. A walk past the
    /// largest PDU is reported Done with a length the framing rejects.
    /// </summary>
    private static OperationStatus DeviceIdentificationLength(ReadOnlySpan<byte> pdu, out int length)
    {
        const int headerLength = DeviceIdentificationObjects.ResponseHeaderLength;
        const int overlong = ModbusLimits.MaxPduLength + 1;
        if (pdu.Length < MeiHeaderLength)
        {
            return NeedMore(out length);
        }

        length = 0;
        if (pdu[1] != DeviceIdentificationObjects.MeiType)
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
                length = offset + 2 > ModbusLimits.MaxPduLength ? overlong : 0;
                return length == 0 ? OperationStatus.NeedMoreData : OperationStatus.Done;
            }

            offset += 2 + pdu[offset + 1];
            if (offset > ModbusLimits.MaxPduLength)
            {
                length = overlong;
                return OperationStatus.Done;
            }
        }

        length = offset;
        return OperationStatus.Done;
    }

    private static OperationStatus NeedMore(out int length)
    {
        length = 0;
        return OperationStatus.NeedMoreData;
    }
}
