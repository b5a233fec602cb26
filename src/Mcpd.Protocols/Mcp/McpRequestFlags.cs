namespace Mcpd.Protocols.Mcp;

/// <summary>Flags byte of a REQ payload. Bits other than those defined must be 0 (else BAD_REQUEST).</summary>
#pragma warning disable CA1711 // The wire field is called "flags" in docs/protocol.md.
[Flags]
public enum McpRequestFlags : byte
{
    /// <summary>A request that expects a RESP.</summary>
    None = 0,
    /// <summary>Bit 0: one-way; the receiver answers ACK once the message is accepted, never RESP.</summary>
    OneWay = 0x01,
}
