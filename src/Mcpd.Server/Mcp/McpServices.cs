using Mcpd.Server.Connections;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// What every MCP connection uses: the dispatcher of its requests (and of its overload backoff and session release),
/// metrics, the budgets of bytes held in incomplete frames and in the bodies of requests still running, the logger of
/// connections, and the registry and clock (one reference in each connection for all of them).
/// </summary>
internal sealed record McpServices(
    IMcpRequestDispatcher Dispatcher, McpdMetrics Metrics, IncompleteFrameBudget IncompleteFrames, RunningRequestBudget RunningRequests, ILogger<McpConnectionHandler> Logger,
    ConnectionRegistry Connections, TimeProvider Time)
    : ProtocolServices(Connections, Time);
