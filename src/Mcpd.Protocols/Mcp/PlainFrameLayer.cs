using System.Buffers;

namespace Mcpd.Protocols.Mcp;

/// <summary>MCP frames back to back: the MCP header's length delimits each one; frames are written straight to the output.</summary>
public sealed class PlainFrameLayer : IMcpFrameLayer
{
    private PlainFrameLayer()
    {
    }

    /// <summary>The layer has no state, so every connection shares this one.</summary>
    public static PlainFrameLayer Instance { get; } = new();

    /// <inheritdoc />
    public bool Delimits => false;

    /// <inheritdoc />
    public long Noise => 0;

    /// <inheritdoc />
    public OperationStatus Unwrap(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> content, out SequencePosition consumed, out long dropped)
    {
        content = buffer;
        consumed = buffer.Start;
        dropped = 0;
        return OperationStatus.Done;
    }

    /// <inheritdoc />
    public IBufferWriter<byte> FrameWriter(IBufferWriter<byte> output) => output;

    /// <inheritdoc />
    /// <remarks>The frame is in the output already: plain framing carries any frame the MCP header can describe.</remarks>
    public bool TrySeal(IBufferWriter<byte> output) => true;
}
