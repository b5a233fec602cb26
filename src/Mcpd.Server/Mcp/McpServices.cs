using Mcpd.Server.Devices;
using Mcpd.Server.Routing;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;

namespace Mcpd.Server.Mcp;

/// <summary>What every MCP connection dispatches to: devices, routing, mapped and built-in methods, server info.</summary>
internal sealed record McpServices(DeviceRegistry Devices, McpRouter Router, McpMethodTable Methods, BuiltInMethods BuiltIns, SessionService Sessions, McpServerInfo Info,
    McpdMetrics Metrics, McpdTracing Tracing);
