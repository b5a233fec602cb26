namespace Mcpd.Protocols.Mcp;

/// <summary>The type byte of an MCP frame header (docs/protocol.md).</summary>
public enum McpFrameType : byte
{
    /// <summary>0: a request; either side may send one.</summary>
    Request = 0,
    /// <summary>1: the response to a request, by id.</summary>
    Response = 1,
    /// <summary>2: acknowledges a one-way request, with a status.</summary>
    Ack = 2,
    /// <summary>3: heartbeat probe, 0..8 opaque bytes.</summary>
    Ping = 3,
    /// <summary>4: heartbeat answer, the ping's bytes echoed.</summary>
    Pong = 4,
    /// <summary>5: connection-level error, sent just before closing.</summary>
    Error = 5,
}
