namespace Mcpd.Protocols.Mcp;

/// <summary>The outcome of parsing a payload, which decides the answer to a malformed one.</summary>
public enum McpParseStatus
{
    /// <summary>The payload is well formed.</summary>
    Ok,
    /// <summary>Malformed, but its id was read: answer RESP (or ACK) BAD_REQUEST for that id, keep the connection.</summary>
    Malformed,
    /// <summary>Too short to carry an id: answer ERROR BAD_REQUEST and close.</summary>
    Unreadable,
}
