using Mcpd.Server.Admin;
using Mcpd.Server.Agent;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Mcpd.Server.Persistence;
using Mcpd.Server.Routing;
using Mcpd.Server.Security;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Mcpd.Server.Transport;

namespace Mcpd.Server.Configuration;

/// <summary>
/// The whole configuration, bound from the root: built-in defaults &lt; mcpd.yaml &lt; MCPD__ environment &lt; command line.
/// docs/configuration.md is the reference. It is what <see cref="McpdOptionsValidator"/> checks (sections refer to
/// each other) and what the command line reads; the server's classes take the options of the sections they read
/// (<see cref="McpdSections"/>).
/// </summary>
public sealed class McpdOptions
{
    /// <summary>The Modbus TCP listener.</summary>
    public ModbusServerOptions Modbus { get; set; } = new();

    /// <summary>The MCP listeners.</summary>
    public McpServerOptions Mcp { get; set; } = new();

    /// <summary>The HTTP admin listener.</summary>
    public AdminOptions Admin { get; set; } = new();

    /// <summary>The agent endpoint (Model Context Protocol) for AI assistants (docs/agents.md).</summary>
    public AgentOptions Agent { get; set; } = new();

    /// <summary>The socket layer under the listeners.</summary>
    public TransportOptions Transport { get; set; } = new();

    /// <summary>Links to real devices, by name; gateway devices name one in <see cref="DeviceOptions.Upstream"/>.</summary>
    public IDictionary<string, UpstreamOptions> Upstreams { get; init; } = new Dictionary<string, UpstreamOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Routing of MCP requests: rules, lanes, default.</summary>
    public RoutingOptions Routing { get; set; } = new();

    /// <summary>Other mcpd nodes that requests may be forwarded to, by name.</summary>
    public IDictionary<string, NodeOptions> Nodes { get; init; } = new Dictionary<string, NodeOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Sessions that survive reconnects (docs/sessions.md).</summary>
    public SessionsOptions Sessions { get; set; } = new();

    /// <summary>This node among several sharing sessions.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>What clients wrote to simulated devices, kept in a state file across restarts.</summary>
    public PersistenceOptions Persistence { get; set; } = new();

    /// <summary>Who may do what: roles and their rules (docs/security.md).</summary>
    public SecurityOptions Security { get; set; } = new();

    /// <summary>Metrics, tracing and their export (docs/observability.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Devices served, keyed by unit id. Empty means the built-in default device.</summary>
    public IList<DeviceOptions> Devices { get; init; } = [];

    /// <summary>Unconsumed input a connection may hold (<see cref="McpServerOptions.MaxInputBuffer"/>).</summary>
    public int MaxInputBuffer => Mcp.MaxInputBuffer;

    /// <summary>The configured devices, or the built-in default when none is configured (<see cref="DevicesOptions.EffectiveOf"/>).</summary>
    public IReadOnlyList<DeviceOptions> EffectiveDevices => DevicesOptions.EffectiveOf(Devices);
}
