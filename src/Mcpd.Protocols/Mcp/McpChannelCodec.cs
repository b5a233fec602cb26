using System.Buffers;
using Mcpd.Protocols.Framing;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// The MCP channel of a connection, the same on server and client: the MCP frame codec stacked on a frame layer
/// (<see cref="IMcpFrameLayer"/>). Decoding follows the codec contract (architecture guide): Done, NeedMoreData and
/// InvalidData are different outcomes, and a frame borrows the reader's memory until it advances. Encoding: write
/// one frame to <see cref="BeginFrame"/>, then <see cref="TryEndFrame"/>; one frame at a time (callers hold their write lock).
/// </summary>
public sealed class McpChannelCodec
{
    /// <summary>The plain channel <see cref="For"/> made last, shared while the payload limit stays the same.</summary>
    private static McpChannelCodec? s_lastPlain;

    private readonly IMcpFrameLayer _layer;

    /// <summary>A channel of MCP frames of at most <paramref name="maxPayloadLength"/> payload bytes over <paramref name="layer"/>.</summary>
    public McpChannelCodec(IMcpFrameLayer layer, int maxPayloadLength)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _layer = layer;
        MaxPayloadLength = maxPayloadLength;
    }

    /// <summary>Largest MCP payload accepted; a larger declared length is InvalidData (FRAME_TOO_LARGE) before its bytes arrive.</summary>
    public int MaxPayloadLength { get; }

    /// <summary>
    /// The channel for a listener's (or a client's) <paramref name="framing"/>: the one place a framing becomes a layer.
    /// <paramref name="maxNoise"/>: the CRC layer's noise budget (<see cref="CrcFrameLayer"/>). A plain channel has no
    /// state, so connections with the same payload limit share one (an idle connection keeps no channel of its own).
    /// </summary>
    public static McpChannelCodec For(McpFraming framing, int maxPayloadLength, long maxNoise = long.MaxValue)
    {
        if (framing == McpFraming.Crc)
        {
            return new(new CrcFrameLayer(maxPayloadLength, maxNoise), maxPayloadLength);
        }

        var plain = Volatile.Read(ref s_lastPlain);
        if (plain is null || plain.MaxPayloadLength != maxPayloadLength)
        {
            plain = new(PlainFrameLayer.Instance, maxPayloadLength);
            Volatile.Write(ref s_lastPlain, plain);
        }

        return plain;
    }

    /// <summary>What the layer has thrown away since the last good frame (<see cref="IMcpFrameLayer.Noise"/>).</summary>
    public long Noise => _layer.Noise;

    /// <summary>
    /// Decodes the next frame of <paramref name="buffer"/>. <see cref="OperationStatus.Done"/>: <paramref name="frame"/>
    /// and its end. <see cref="OperationStatus.NeedMoreData"/>: no whole frame yet; <paramref name="consumed"/> may have
    /// moved past bytes the layer threw away (<paramref name="dropped"/> counts them: CRC resynchronisation).
    /// <see cref="OperationStatus.InvalidData"/>: the channel cannot go on; <paramref name="error"/> says why and
    /// <paramref name="frame"/> carries the header when it was read. Inside a delimiting layer an envelope must hold
    /// exactly one MCP frame (docs/protocol.md, "CRC framing for noisy links"), else <see cref="McpFrameError.NotOneFrame"/>;
    /// a layer past its noise budget is <see cref="McpFrameError.TooMuchNoise"/>.
    /// </summary>
    public OperationStatus Decode(in ReadOnlySequence<byte> buffer, out McpFrame frame, out SequencePosition consumed, out McpFrameError error, out long dropped)
    {
        var envelope = _layer.Unwrap(buffer, out var content, out consumed, out dropped);
        if (envelope != OperationStatus.Done)
        {
            frame = default;
            error = envelope == OperationStatus.InvalidData ? McpFrameError.TooMuchNoise : McpFrameError.None;
            return envelope;
        }

        var status = McpFrameCodec.Decode(content, MaxPayloadLength, out frame, out var end, out error);
        if (!_layer.Delimits)
        {
            if (status == OperationStatus.Done)
            {
                consumed = end;
            }

            return status;
        }

        if (status == OperationStatus.NeedMoreData || (status == OperationStatus.Done && content.Slice(end).Length != 0))
        {
            error = McpFrameError.NotOneFrame;
            return OperationStatus.InvalidData;
        }

        return status;
    }

    /// <summary>Where the next outgoing frame is written.</summary>
    public IBufferWriter<byte> BeginFrame(IBufferWriter<byte> output) => _layer.FrameWriter(output);

    /// <summary>
    /// Puts the frame written to <see cref="BeginFrame"/> into <paramref name="output"/> through the layer; false when
    /// the layer cannot carry a frame that large (the CRC framing's 16-bit length): nothing was written.
    /// </summary>
    public bool TryEndFrame(IBufferWriter<byte> output) => _layer.TrySeal(output);
}
