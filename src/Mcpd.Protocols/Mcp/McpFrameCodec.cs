using System.Buffers;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// MCP framing: an 8-byte header (<see cref="McpFrameHeader"/>) then the payload. The header is validated as soon as
/// it is in (magic first, then version, then length against the maximum), so an oversized frame is refused before
/// a byte of its payload is read or buffered.
/// </summary>
public static class McpFrameCodec
{
    /// <summary>
    /// Decodes the first frame of <paramref name="buffer"/>: <see cref="OperationStatus.Done"/> with the frame and its end,
    /// <see cref="OperationStatus.NeedMoreData"/> (nothing consumed), or <see cref="OperationStatus.InvalidData"/> with
    /// <paramref name="error"/> saying why and <paramref name="frame"/> carrying the header.
    /// </summary>
    public static OperationStatus Decode(in ReadOnlySequence<byte> buffer, long maxPayloadLength, out McpFrame frame, out SequencePosition consumed, out McpFrameError error)
    {
        consumed = buffer.Start;
        error = McpFrameError.None;
        if (buffer.Length < McpFrameHeader.Length)
        {
            frame = default;
            // A wrong magic is known from the first two bytes; say so without waiting for the rest of the header.
            if (buffer.Length >= 2 && FirstTwo(buffer) != McpFrameHeader.ExpectedMagic)
            {
                error = McpFrameError.BadMagic;
                return OperationStatus.InvalidData;
            }

            return OperationStatus.NeedMoreData;
        }

        var header = ReadHeader(buffer);
        error = header.Magic != McpFrameHeader.ExpectedMagic ? McpFrameError.BadMagic
            : header.Version != McpFrameHeader.CurrentVersion ? McpFrameError.UnsupportedVersion
            : header.PayloadLength > maxPayloadLength ? McpFrameError.FrameTooLarge
            : McpFrameError.None;
        if (error != McpFrameError.None)
        {
            frame = new McpFrame(header, ReadOnlySequence<byte>.Empty);
            return OperationStatus.InvalidData;
        }

        var frameLength = McpFrameHeader.Length + (long)header.PayloadLength;
        if (buffer.Length < frameLength)
        {
            frame = default;
            return OperationStatus.NeedMoreData;
        }

        frame = new McpFrame(header, buffer.Slice(McpFrameHeader.Length, header.PayloadLength));
        consumed = buffer.GetPosition(frameLength);
        return OperationStatus.Done;
    }

    /// <summary>Writes a header for <paramref name="payload"/>, then the payload.</summary>
    public static void Encode(McpFrameType type, ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(McpFrameHeader.Length + payload.Length);
        McpFrameHeader.For(type, payload.Length).Write(span);
        payload.CopyTo(span[McpFrameHeader.Length..]);
        output.Advance(McpFrameHeader.Length + payload.Length);
    }

    private static McpFrameHeader ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.FirstSpan.Length >= McpFrameHeader.Length)
        {
            return McpFrameHeader.Read(buffer.FirstSpan);
        }

        Span<byte> header = stackalloc byte[McpFrameHeader.Length];
        buffer.Slice(0, McpFrameHeader.Length).CopyTo(header);
        return McpFrameHeader.Read(header);
    }

    private static ushort FirstTwo(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> two = stackalloc byte[2];
        buffer.Slice(0, 2).CopyTo(two);
        return (ushort)(two[0] << 8 | two[1]);
    }
}
