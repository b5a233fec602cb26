using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
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

    /// <summary>The socket layer under the listeners.</summary>
    public TransportOptions Transport { get; set; } = new();

    /// <summary>Devices served, keyed by unit id. Empty means the built-in default device.</summary>
    public IList<DeviceOptions> Devices { get; init; } = [];

    /// <summary>The configured devices, or the built-in default when none is configured.</summary>
    public IReadOnlyList<DeviceOptions> EffectiveDevices => Devices.Count > 0 ? [.. Devices] : [DeviceOptions.CreateBuiltInDefault()];
}
