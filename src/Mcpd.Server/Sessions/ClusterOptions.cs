namespace Mcpd.Server.Sessions;

/// <summary>This node among several sharing sessions through Redis (config section <c>cluster</c>).</summary>
public sealed class ClusterOptions
{
    /// <summary>The node's unique name; default: the machine name and 6 random hex digits, new at every start (never the process id: in containers every node is PID 1).</summary>
    public string? NodeId { get; set; }

    /// <summary>host:port where other nodes reach this node's MCP listener; default: 127.0.0.1 and the MCP port.</summary>
    public string? Advertise { get; set; }

    /// <summary>How often the node announces itself; a node silent for 3 intervals counts as gone.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Connections this node keeps to each other node it forwards to; calls are spread over them.</summary>
    public int PeerConnections { get; set; } = 4;
}
