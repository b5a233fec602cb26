namespace Mcpd.Protocols.Mcp;

/// <summary>How MCP frames travel on a listener.</summary>
public enum McpFraming
{
    /// <summary>MCP frames back to back.</summary>
    Plain,
    /// <summary>Each MCP frame inside the 0x5A CRC framing (docs/protocol.md, "CRC framing for noisy links"), for noisy links.</summary>
    Crc,
}
