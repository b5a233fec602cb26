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
    /// <remarks>
    /// A CRC payload shorter than an MCP header, longer than the largest MCP frame, or not beginning with the MCP magic
    /// and version is no frame start and resynchronises, before any CRC is computed (docs/protocol.md, "CRC framing").
    /// </remarks>
    public OperationStatus Unwrap(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> content, out SequencePosition consumed, out long dropped) =>
        CrcFrameCodec.Decode(buffer, McpFrameHeader.Length, McpFrameHeader.Length + maxMcpPayloadLength, McpMagicAndVersion, out content, out consumed, out dropped);

    /// <summary>The first bytes of every MCP frame: magic 0x4D43 ("MC") and version 1.</summary>
    private static ReadOnlySpan<byte> McpMagicAndVersion => [0x4D, 0x43, McpFrameHeader.CurrentVersion];

    /// <inheritdoc />
    public IBufferWriter<byte> FrameWriter(IBufferWriter<byte> output) => _scratch;

    /// <inheritdoc />
    /// <remarks>One CRC frame carries at most <see cref="CrcFrameCodec.MaxPayloadLength"/> bytes (its length is 16 bits).</remarks>
    public bool TrySeal(IBufferWriter<byte> output)
    {
        var fits = _scratch.WrittenCount <= CrcFrameCodec.MaxPayloadLength;
        if (fits)
        {
            CrcFrameCodec.Encode(_scratch.WrittenSpan, output);
        }

        _scratch.ResetWrittenCount();
        return fits;
    }
}
