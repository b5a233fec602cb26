namespace Mcpd.Protocols.Mcp;

/// <summary>Header keys with a meaning to mcpd (docs/protocol.md, "Headers mcpd reads").</summary>
public static class McpHeaderNames
{
    /// <summary>W3C Trace Context: <c>00-{trace id, 32 hex}-{parent id, 16 hex}-{flags, 2 hex}</c>.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The Modbus unit id of <c>modbus.pdu</c>, 0..255 in decimal.</summary>
    public const string Unit = "unit";
}
