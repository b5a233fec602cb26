using Mcpd.Server.Routing;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;

namespace Mcpd.Server.Mcp;

/// <summary>What every MCP connection uses: the dispatcher of its requests, the router (overload backoff), sessions (release on close), metrics.</summary>
internal sealed record McpServices(McpDispatcher Dispatcher, McpRouter Router, SessionService Sessions, McpdMetrics Metrics);
