using System.Buffers;
using System.Buffers.Binary;

namespace Mcpd.Protocols.Framing;

/// <summary>
/// The CRC framing for noisy links (docs/protocol.md, "CRC framing for noisy links"): <c>0x5A | length u16 (big-endian) | payload | CRC-16/MODBUS of the
/// payload, low byte first</c>. Decoding is a resynchronising state machine: garbage before a start byte, a start
/// byte with an impossible length, and a frame whose CRC does not match are dropped byte by byte until the next
/// 0x5A, and counted, so a damaged frame costs only itself and the connection stays up.
/// </summary>
public static class CrcFrameCodec
{
    /// <summary>The start byte.</summary>
    public const byte StartByte = 0x5A;

    /// <summary>Start byte and length field.</summary>
    public const int HeaderLength = 3;

    /// <summary>The CRC after the payload.</summary>
    public const int TrailerLength = 2;

    /// <summary>Largest payload the 16-bit length can announce.</summary>
    public const int MaxPayloadLength = ushort.MaxValue;

    /// <summary>
    /// Finds the next intact frame. <see cref="OperationStatus.Done"/>: <paramref name="payload"/> is its payload and
    /// <paramref name="consumed"/> its end. <see cref="OperationStatus.NeedMoreData"/>: no complete frame yet;
    /// <paramref name="consumed"/> may still move past dropped bytes, which the caller must advance over.
    /// Payload lengths outside <paramref name="minPayloadLength"/>..<paramref name="maxPayloadLength"/> are impossible
    /// and resynchronise, and so does a payload that does not begin with <paramref name="payloadPrefix"/> (checked
    /// before the frame's remainder is awaited or its CRC computed: a flood of 0x5A bytes, each announcing a long
    /// frame, then costs one look per byte instead of one CRC over the announced length per byte).
    /// <paramref name="dropped"/> counts the bytes thrown away by this call, <paramref name="checksummedInVain"/> the
    /// bytes over which it computed a CRC that did not match: together, the work noise cost. Once they exceed
    /// <paramref name="maxNoise"/> the call stops with <see cref="OperationStatus.InvalidData"/> (a crafted stream can
    /// make every few bytes start a plausible frame, each checked over up to 64 KiB: the bound keeps the work linear).
    /// </summary>
    public static OperationStatus Decode(
        in ReadOnlySequence<byte> buffer, int minPayloadLength, int maxPayloadLength, ReadOnlySpan<byte> payloadPrefix, long maxNoise,
        out ReadOnlySequence<byte> payload, out SequencePosition consumed, out long dropped, out long checksummedInVain)
    {
        var remaining = buffer;
        dropped = 0;
        checksummedInVain = 0;
        while (true)
        {
            var start = remaining.PositionOf(StartByte);
            if (start is null)
            {
                dropped += remaining.Length;
                payload = default;
                consumed = remaining.End;
                return OperationStatus.NeedMoreData;
            }

            var skipped = remaining.Slice(0, start.Value).Length;
            dropped += skipped;
            remaining = remaining.Slice(start.Value);
            if (remaining.Length < HeaderLength)
            {
                payload = default;
                consumed = remaining.Start;
                return OperationStatus.NeedMoreData;
            }

            Span<byte> header = stackalloc byte[HeaderLength];
            remaining.Slice(0, HeaderLength).CopyTo(header);
            var length = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
            if (length < minPayloadLength || length > maxPayloadLength)
            {
                // Not a frame start after all: drop the 0x5A and look for the next one.
                dropped++;
                remaining = remaining.Slice(1);
                continue;
            }

            if (!payloadPrefix.IsEmpty)
            {
                if (remaining.Length < HeaderLength + payloadPrefix.Length)
                {
                    payload = default;
                    consumed = remaining.Start;
                    return OperationStatus.NeedMoreData;
                }

                Span<byte> head = stackalloc byte[payloadPrefix.Length];
                remaining.Slice(HeaderLength, payloadPrefix.Length).CopyTo(head);
                if (!head.SequenceEqual(payloadPrefix))
                {
                    dropped++;
                    remaining = remaining.Slice(1);
                    continue;
                }
            }

            var frameLength = HeaderLength + length + TrailerLength;
            if (remaining.Length < frameLength)
            {
                payload = default;
                consumed = remaining.Start;
                return OperationStatus.NeedMoreData;
            }

            var candidate = remaining.Slice(HeaderLength, length);
            Span<byte> trailer = stackalloc byte[TrailerLength];
            remaining.Slice(HeaderLength + length, TrailerLength).CopyTo(trailer);
            if (Crc16Modbus.Compute(candidate) != BinaryPrimitives.ReadUInt16LittleEndian(trailer))
            {
                checksummedInVain += length;
                dropped++;
                remaining = remaining.Slice(1);
                if (dropped + checksummedInVain > maxNoise)
                {
                    payload = default;
                    consumed = remaining.Start;
                    return OperationStatus.InvalidData;
                }

                continue;
            }

            payload = candidate;
            consumed = remaining.GetPosition(frameLength);
            return OperationStatus.Done;
        }
    }

    /// <summary>Writes one frame around <paramref name="payload"/>.</summary>
    public static void Encode(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, MaxPayloadLength);
        var frameLength = HeaderLength + payload.Length + TrailerLength;
        var span = output.GetSpan(frameLength);
        span[0] = StartByte;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)payload.Length);
        payload.CopyTo(span[HeaderLength..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span[(HeaderLength + payload.Length)..], Crc16Modbus.Compute(payload));
        output.Advance(frameLength);
    }
}
