using Mcpd.Server.Admin;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Mcpd.Server.Routing;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Mcpd.Server.Transport;

namespace Mcpd.Server.Configuration;

/// <summary>
/// The whole configuration, bound from the root: built-in defaults &lt; mcpd.yaml &lt; MCPD__ environment &lt; command line.
/// docs/configuration.md is the reference.
/// </summary>
public sealed class McpdOptions
{
    /// <summary>The Modbus TCP listener.</summary>
    public ModbusServerOptions Modbus { get; set; } = new();

    /// <summary>The MCP listeners.</summary>
    public McpServerOptions Mcp { get; set; } = new();

    /// <summary>The HTTP admin listener.</summary>
    public AdminOptions Admin { get; set; } = new();

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

    /// <summary>Metrics, tracing and their export (docs/observability.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Devices served, keyed by unit id. Empty means the built-in default device.</summary>
    public IList<DeviceOptions> Devices { get; init; } = [];

    /// <summary>
    /// Unconsumed input a connection may hold: at least 1 MiB, and at least the largest MCP frame (header and CRC
    /// framing included), or a frame at the limit could never be read whole.
    /// </summary>
    public int MaxInputBuffer => Math.Max(1024 * 1024, Mcp.MaxPayloadLength + 16);

    /// <summary>The configured devices, or the built-in default when none is configured.</summary>
    public IReadOnlyList<DeviceOptions> EffectiveDevices => Devices.Count > 0 ? [.. Devices] : [DeviceOptions.CreateBuiltInDefault()];
}
