using System.Buffers.Binary;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// The 7-byte MODBUS Application Protocol header of Modbus TCP, big-endian (Implementation Guide 3.1.3):
/// transaction id, protocol id (0 = Modbus), length (bytes that follow: unit id + PDU), unit id.
/// </summary>
/// <param name="TransactionId">Pairs a response with its request; the server echoes it unchanged.</param>
/// <param name="ProtocolId">0 for Modbus; other values are other protocols and are not answered.</param>
/// <param name="Length">Number of bytes after this field: the unit id and the PDU.</param>
/// <param name="UnitId">The addressed device behind a gateway; 0xFF (or 0) for a device directly on TCP.</param>
public readonly record struct MbapHeader(ushort TransactionId, ushort ProtocolId, ushort Length, byte UnitId)
{
    /// <summary>Length of the PDU this header announces (the length field minus the unit id).</summary>
    public int PduLength => Length - 1;

    /// <summary>Reads a header from the first 7 bytes of <paramref name="source"/>.</summary>
    public static MbapHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16BigEndian(source),
        BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
        BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
        source[6]);

    /// <summary>Writes the header into the first 7 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], ProtocolId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], Length);
        destination[6] = UnitId;
    }
}
