using System.Buffers.Binary;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// The 8-byte MCP frame header, big-endian: magic u16 = 0x4D43 ("MC"), version u8 = 1, type u8, payload length u32.
/// </summary>
/// <param name="Magic">0x4D43 in a valid frame.</param>
/// <param name="Version">1 in a valid frame.</param>
/// <param name="Type">The frame type byte (not necessarily a defined <see cref="McpFrameType"/>).</param>
/// <param name="PayloadLength">Bytes of payload after the header.</param>
public readonly record struct McpFrameHeader(ushort Magic, byte Version, byte Type, uint PayloadLength)
{
    /// <summary>Header size in bytes.</summary>
    public const int Length = 8;

    /// <summary>"MC".</summary>
    public const ushort ExpectedMagic = 0x4D43;

    /// <summary>The only version defined.</summary>
    public const byte CurrentVersion = 1;

    /// <summary>A valid header of <paramref name="type"/> for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static McpFrameHeader For(McpFrameType type, int payloadLength) =>
        new(ExpectedMagic, CurrentVersion, (byte)type, checked((uint)payloadLength));

    /// <summary>Reads a header from the first 8 bytes of <paramref name="source"/>.</summary>
    public static McpFrameHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt16BigEndian(source),
        source[2],
        source[3],
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]));

    /// <summary>Writes the header into the first 8 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Magic);
        destination[2] = Version;
        destination[3] = Type;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], PayloadLength);
    }
}
