using System.Buffers;

namespace Mcpd.Protocols.Mcp;

/// <summary>One decoded MCP frame. <see cref="Payload"/> borrows the reader's memory until it advances.</summary>
public readonly struct McpFrame
{
    /// <summary>Creates a frame from its header and payload.</summary>
    public McpFrame(McpFrameHeader header, ReadOnlySequence<byte> payload)
    {
        Header = header;
        Payload = payload;
    }

    /// <summary>The header as received.</summary>
    public McpFrameHeader Header { get; }

    /// <summary>The frame type.</summary>
    public McpFrameType Type => (McpFrameType)Header.Type;

    /// <summary>The payload; empty when only the header was decoded (invalid frame).</summary>
    public ReadOnlySequence<byte> Payload { get; }
}
