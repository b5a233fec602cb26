using System.Buffers;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Protocols.Framing;

/// <summary>
/// Each MCP frame inside one 0x5A CRC frame (<see cref="CrcFrameCodec"/>; docs/protocol.md, "CRC framing for noisy
/// links"). Damaged input is skipped and counted by the CRC decoder's resynchronisation; an outgoing frame is built
/// in a scratch buffer of this layer, then wrapped. One instance per connection; writes must be serialised by the
/// caller (one frame at a time).
/// </summary>
public sealed class CrcFrameLayer(int maxMcpPayloadLength) : IMcpFrameLayer
{
    private readonly ArrayBufferWriter<byte> _scratch = new(512);

    /// <inheritdoc />
    public bool Delimits => true;

    /// <inheritdoc />
    /// <remarks>A CRC payload shorter than an MCP header, or longer than the largest MCP frame, is no frame start and resynchronises.</remarks>
    public OperationStatus Unwrap(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> content, out SequencePosition consumed, out long dropped) =>
        CrcFrameCodec.Decode(buffer, McpFrameHeader.Length, McpFrameHeader.Length + maxMcpPayloadLength, out content, out consumed, out dropped);

    /// <inheritdoc />
    public IBufferWriter<byte> FrameWriter(IBufferWriter<byte> output) => _scratch;

    /// <inheritdoc />
    public void Seal(IBufferWriter<byte> output)
    {
        CrcFrameCodec.Encode(_scratch.WrittenSpan, output);
        _scratch.ResetWrittenCount();
    }
}
