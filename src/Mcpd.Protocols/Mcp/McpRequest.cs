using System.Buffers;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// A parsed REQ payload: <c>id u32 | flags u8 | method (u8 length + UTF-8) | headers | body</c>. Its sequences borrow
/// the frame's memory until the reader advances.
/// </summary>
public readonly struct McpRequest
{
    internal McpRequest(uint id, McpRequestFlags flags, ReadOnlySequence<byte> method, McpHeaders headers, ReadOnlySequence<byte> body)
    {
        Id = id;
        Flags = flags;
        Method = method;
        Headers = headers;
        Body = body;
    }

    /// <summary>Correlates the RESP or ACK with this request.</summary>
    public uint Id { get; }

    /// <summary>The flags byte.</summary>
    public McpRequestFlags Flags { get; }

    /// <summary>True for a one-way request (answered by ACK).</summary>
    public bool IsOneWay => (Flags & McpRequestFlags.OneWay) != 0;

    /// <summary>The method name, UTF-8, 1..255 bytes.</summary>
    public ReadOnlySequence<byte> Method { get; }

    /// <summary>The headers, already validated.</summary>
    public McpHeaders Headers { get; }

    /// <summary>Everything after the headers.</summary>
    public ReadOnlySequence<byte> Body { get; }
}
