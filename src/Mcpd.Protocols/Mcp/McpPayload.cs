using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// Reads and writes the payloads of MCP frames (docs/protocol.md). Readers validate everything a peer controls and
/// name the first problem; writers build whole frames (header included) into an <see cref="IBufferWriter{T}"/>.
/// </summary>
public static class McpPayload
{
    /// <summary>id u32 + status u16.</summary>
    public const int AckLength = 6;

    /// <summary>Largest PING/PONG payload.</summary>
    public const int MaxPingLength = 8;

    /// <summary>Parses a REQ payload; on failure <paramref name="problem"/> says what is wrong.</summary>
    public static McpParseStatus ParseRequest(in ReadOnlySequence<byte> payload, out McpRequest request, out uint id, out string? problem)
    {
        request = default;
        var reader = new SequenceReader<byte>(payload);
        if (!reader.TryReadBigEndian(out int signedId))
        {
            id = 0;
            problem = $"the payload has {payload.Length} bytes, too few for a request id";
            return McpParseStatus.Unreadable;
        }

        id = (uint)signedId;
        if (!reader.TryRead(out var flags))
        {
            problem = "the flags byte is missing";
            return McpParseStatus.Malformed;
        }

        if ((flags & ~(byte)McpRequestFlags.OneWay) != 0)
        {
            problem = $"flags 0x{flags:X2} set reserved bits (only bit 0, one-way, is defined)";
            return McpParseStatus.Malformed;
        }

        if (!reader.TryRead(out var methodLength) || methodLength == 0 || reader.Remaining < methodLength)
        {
            problem = "the method is missing, empty or runs past the payload";
            return McpParseStatus.Malformed;
        }

        var method = reader.UnreadSequence.Slice(0, methodLength);
        if (!McpHeaders.IsUtf8(method))
        {
            problem = "the method is not UTF-8";
            return McpParseStatus.Malformed;
        }

        reader.Advance(methodLength);
        var headersStart = reader.Position;
        var headersLength = McpHeaders.Validate(ref reader, out var count, out problem);
        if (headersLength < 0)
        {
            return McpParseStatus.Malformed;
        }

        var headers = new McpHeaders(payload.Slice(headersStart, headersLength), count);
        request = new McpRequest(id, (McpRequestFlags)flags, method, headers, reader.UnreadSequence);
        return McpParseStatus.Ok;
    }

    /// <summary>Parses a RESP payload: id, status, headers, body.</summary>
    public static McpParseStatus ParseResponse(in ReadOnlySequence<byte> payload, out uint id, out McpStatus status, out McpHeaders headers, out ReadOnlySequence<byte> body, out string? problem)
    {
        var reader = new SequenceReader<byte>(payload);
        (status, headers, body) = (default, default, default);
        if (!reader.TryReadBigEndian(out int signedId))
        {
            id = 0;
            problem = "too few bytes for a response id";
            return McpParseStatus.Unreadable;
        }

        id = (uint)signedId;
        if (!reader.TryReadBigEndian(out short signedStatus))
        {
            problem = "the status is missing";
            return McpParseStatus.Malformed;
        }

        status = (McpStatus)(ushort)signedStatus;
        var headersStart = reader.Position;
        var headersLength = McpHeaders.Validate(ref reader, out var count, out problem);
        if (headersLength < 0)
        {
            return McpParseStatus.Malformed;
        }

        headers = new McpHeaders(payload.Slice(headersStart, headersLength), count);
        body = reader.UnreadSequence;
        return McpParseStatus.Ok;
    }

    /// <summary>Parses an ACK payload: exactly id u32 and status u16.</summary>
    public static bool TryParseAck(in ReadOnlySequence<byte> payload, out uint id, out McpStatus status)
    {
        Span<byte> ack = stackalloc byte[AckLength];
        if (payload.Length != AckLength)
        {
            (id, status) = (0, default);
            return false;
        }

        payload.CopyTo(ack);
        id = BinaryPrimitives.ReadUInt32BigEndian(ack);
        status = (McpStatus)BinaryPrimitives.ReadUInt16BigEndian(ack[4..]);
        return true;
    }

    /// <summary>Parses an ERROR payload: status u16, then a UTF-8 message.</summary>
    public static bool TryParseError(in ReadOnlySequence<byte> payload, out McpStatus status, out string message)
    {
        var reader = new SequenceReader<byte>(payload);
        if (!reader.TryReadBigEndian(out short signedStatus) || !McpHeaders.IsUtf8(reader.UnreadSequence))
        {
            (status, message) = (default, "");
            return false;
        }

        status = (McpStatus)(ushort)signedStatus;
        message = Encoding.UTF8.GetString(reader.UnreadSequence);
        return true;
    }

    /// <summary>Writes a REQ frame.</summary>
    public static void WriteRequest(IBufferWriter<byte> output, uint id, McpRequestFlags flags, string method, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(headers);
        var methodLength = Encoding.UTF8.GetByteCount(method);
        if (methodLength is 0 or > byte.MaxValue)
        {
            throw new ArgumentException($"The method must be 1..255 UTF-8 bytes, '{method}' is {methodLength}.", nameof(method));
        }

        var payloadLength = 4 + 1 + 1 + methodLength + McpHeaders.SizeOf(headers) + body.Length;
        var span = Begin(output, McpFrameType.Request, payloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, id);
        span[4] = (byte)flags;
        span[5] = (byte)methodLength;
        Encoding.UTF8.GetBytes(method, span[6..]);
        McpHeaders.Write(span[(6 + methodLength)..], headers, out var headersLength);
        body.CopyTo(span[(6 + methodLength + headersLength)..]);
        output.Advance(McpFrameHeader.Length + payloadLength);
    }

    /// <summary>Writes a RESP frame; with no headers it allocates nothing.</summary>
    public static void WriteResponse(IBufferWriter<byte> output, uint id, McpStatus status, IReadOnlyList<KeyValuePair<string, string>> headers, in ReadOnlySequence<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(headers);
        var payloadLength = 4 + 2 + (headers.Count == 0 ? 1 : McpHeaders.SizeOf(headers)) + (int)body.Length;
        var span = Begin(output, McpFrameType.Response, payloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], (ushort)status);
        McpHeaders.Write(span[6..], headers, out var headersLength);
        body.CopyTo(span[(6 + headersLength)..]);
        output.Advance(McpFrameHeader.Length + payloadLength);
    }

    /// <summary>Writes an ACK frame.</summary>
    public static void WriteAck(IBufferWriter<byte> output, uint id, McpStatus status)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = Begin(output, McpFrameType.Ack, AckLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], (ushort)status);
        output.Advance(McpFrameHeader.Length + AckLength);
    }

    /// <summary>Writes a PING or PONG frame with 0..8 opaque bytes.</summary>
    public static void WriteHeartbeat(IBufferWriter<byte> output, McpFrameType type, ReadOnlySpan<byte> data)
    {
        if (type is not (McpFrameType.Ping or McpFrameType.Pong) || data.Length > MaxPingLength)
        {
            throw new ArgumentException("PING/PONG carry 0..8 bytes.", nameof(data));
        }

        McpFrameCodec.Encode(type, data, output);
    }

    /// <summary>Writes an ERROR frame: status, then the message in UTF-8.</summary>
    public static void WriteError(IBufferWriter<byte> output, McpStatus status, string message)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(message);
        var payloadLength = 2 + Encoding.UTF8.GetByteCount(message);
        var span = Begin(output, McpFrameType.Error, payloadLength);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)status);
        Encoding.UTF8.GetBytes(message, span[2..]);
        output.Advance(McpFrameHeader.Length + payloadLength);
    }

    /// <summary>Writes the frame header and returns the payload's span (not yet advanced).</summary>
    private static Span<byte> Begin(IBufferWriter<byte> output, McpFrameType type, int payloadLength)
    {
        var span = output.GetSpan(McpFrameHeader.Length + payloadLength);
        McpFrameHeader.For(type, payloadLength).Write(span);
        return span.Slice(McpFrameHeader.Length, payloadLength);
    }
}
