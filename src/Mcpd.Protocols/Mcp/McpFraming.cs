namespace Mcpd.Protocols.Mcp;

/// <summary>How MCP frames travel on a listener.</summary>
public enum McpFraming
{
    /// <summary>MCP frames back to back.</summary>
    Plain,
    /// <summary>Each MCP frame inside the 0x5A CRC framing (seed 2.4), for noisy links.</summary>
    Crc,
}
