using Mcpd.Server.Mcp;

namespace Mcpd.Server.Routing;

/// <summary>
/// What <see cref="McpRouter"/> reads: the sections <c>routing</c> and <c>nodes</c>, bound together from the
/// configuration root, so that a reload changing both (a rule naming a node the same edit adds or removes) is one
/// change, and the router never builds from one section's new state and the other's old one.
/// </summary>
public sealed class RouterOptions
{
    /// <summary>Routing of MCP requests: rules, lanes, default.</summary>
    public RoutingOptions Routing { get; set; } = new();

    /// <summary>Other mcpd nodes that requests may be forwarded to, by name.</summary>
    public IDictionary<string, NodeOptions> Nodes { get; init; } = new Dictionary<string, NodeOptions>(StringComparer.OrdinalIgnoreCase);
}
