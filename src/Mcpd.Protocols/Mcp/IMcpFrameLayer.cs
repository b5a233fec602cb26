using System.Buffers;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// The framing between the byte stream and MCP frames (docs/protocol.md; the CRC one is "CRC framing for noisy links"), chosen once per connection:
/// <see cref="PlainFrameLayer"/> (frames back to back) or <see cref="Framing.CrcFrameLayer"/> (each frame inside the
/// 0x5A CRC framing). <see cref="McpChannelCodec"/> stacks the MCP frame codec on a layer; transport security (TLS)
/// is connection middleware under the layer, never a layer itself.
/// </summary>
public interface IMcpFrameLayer
{
    /// <summary>
    /// True when the layer delimits every frame itself: the content of one envelope must then be exactly one MCP
    /// frame. False when the MCP header's length is the only delimiter.
    /// </summary>
    bool Delimits { get; }

    /// <summary>The cost of what the layer has thrown away since the last good frame (0 for a layer that never drops bytes).</summary>
    long Noise { get; }

    /// <summary>
    /// Finds the bytes of the next frame. <see cref="OperationStatus.Done"/>: <paramref name="content"/> holds them
    /// (for a layer that does not delimit: all of <paramref name="buffer"/>) and <paramref name="consumed"/> is the end
    /// of the envelope (for a layer that does not delimit: the start of <paramref name="buffer"/>).
    /// <see cref="OperationStatus.NeedMoreData"/>: no whole envelope yet; <paramref name="consumed"/> may still move past
    /// bytes thrown away, which the reader must advance over. <paramref name="dropped"/> counts those bytes.
    /// <see cref="OperationStatus.InvalidData"/>: the layer gave up, <see cref="Noise"/> is past its budget.
    /// </summary>
    OperationStatus Unwrap(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> content, out SequencePosition consumed, out long dropped);

    /// <summary>Where the next outgoing MCP frame is written; <see cref="TrySeal"/> then puts it into <paramref name="output"/>.</summary>
    IBufferWriter<byte> FrameWriter(IBufferWriter<byte> output);

    /// <summary>
    /// Puts the frame written to <see cref="FrameWriter"/> into <paramref name="output"/>, wrapped as the layer wants.
    /// False: the frame is larger than one envelope of the layer carries; it is discarded and nothing is written.
    /// </summary>
    bool TrySeal(IBufferWriter<byte> output);
}
