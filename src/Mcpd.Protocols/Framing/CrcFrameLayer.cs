using System.Buffers;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Protocols.Framing;

/// <summary>
/// Each MCP frame inside one 0x5A CRC frame (<see cref="CrcFrameCodec"/>; docs/protocol.md, "CRC framing for noisy
/// links"). Damaged input is skipped and counted by the CRC decoder's resynchronisation; an outgoing frame is built
/// in a scratch buffer of this layer, then wrapped. One instance per connection; writes must be serialised by the
/// caller (one frame at a time). <paramref name="maxNoise"/> bounds <see cref="Noise"/>: past it the layer gives up
/// (InvalidData), so what a peer sending only noise costs the server is linear in the budget, not in its bytes.
/// </summary>
public sealed class CrcFrameLayer(int maxMcpPayloadLength, long maxNoise = long.MaxValue) : IMcpFrameLayer
{
    private readonly ArrayBufferWriter<byte> _scratch = new(512);
    private long _noise;

    /// <inheritdoc />
    public bool Delimits => true;

    /// <inheritdoc />
    /// <remarks>Bytes dropped plus bytes whose CRC was computed in vain, since the last good frame.</remarks>
    public long Noise => _noise;

    /// <inheritdoc />
    /// <remarks>
    /// A CRC payload shorter than an MCP header, longer than the largest MCP frame, or not beginning with the MCP magic
    /// and version is no frame start and resynchronises, before any CRC is computed (docs/protocol.md, "CRC framing").
    /// </remarks>
    public OperationStatus Unwrap(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> content, out SequencePosition consumed, out long dropped)
    {
        var status = CrcFrameCodec.Decode(
            buffer, McpFrameHeader.Length, McpFrameHeader.Length + maxMcpPayloadLength, McpMagicAndVersion, maxNoise - _noise,
            out content, out consumed, out dropped, out var checksummedInVain);
        _noise += dropped + checksummedInVain;
        if (status == OperationStatus.InvalidData || _noise > maxNoise)
        {
            return OperationStatus.InvalidData;
        }

        if (status == OperationStatus.Done)
        {
            _noise = 0;
        }

        return status;
    }

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
