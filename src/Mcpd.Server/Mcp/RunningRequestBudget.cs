using Mcpd.Server.Connections;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Bytes of request bodies that all MCP connections together hold in requests still running (<c>mcp.maxRunningRequestBytes</c>):
/// a request that leaves the read loop (a routed target, a mapped handler, a lane, a forward, a session method)
/// copies its body, and the copy lives until it is answered. Each connection has at most
/// <c>maxInFlightPerConnection</c> such requests; this bounds them all together: past it a request is answered
/// OVERLOADED at once, before its body is copied, and the connection goes on.
/// </summary>
internal sealed class RunningRequestBudget(IOptionsMonitor<McpServerOptions> options)
{
    private readonly ByteBudget _bytes = new(() => options.CurrentValue.MaxRunningRequestBytes);

    /// <summary>The budget now.</summary>
    public long Limit => _bytes.Limit;

    /// <summary>Bytes held now.</summary>
    public long InUse => _bytes.InUse;

    /// <summary>Holds the body of a request about to run; false when it does not fit.</summary>
    public bool TryHold(int bodyLength) => _bytes.TryTake(bodyLength);

    /// <summary>Gives back the body of a request that was answered.</summary>
    public void Release(int bodyLength) => _bytes.Give(bodyLength);
}
