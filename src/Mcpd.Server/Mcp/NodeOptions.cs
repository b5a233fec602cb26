namespace Mcpd.Server.Mcp;

/// <summary>Another mcpd node that requests may be forwarded to (an entry of <c>nodes</c>).</summary>
public sealed class NodeOptions
{
    /// <summary>host:port of the node's MCP listener.</summary>
    public string Address { get; set; } = "";

    /// <summary>Connections kept to the node; calls are spread over them.</summary>
    public int Connections { get; set; } = 1;

    /// <summary>How long a forwarded call waits for the node's answer.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>PING interval on an idle connection; 3 unanswered PINGs mean the node is dead and the connection is re-made.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);
}
