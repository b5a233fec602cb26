using Mcpd.Client.Mcp;
using Mcpd.Server.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Hosting;

/// <summary>Maps MCP methods on a built mcpd host, in the spirit of ASP.NET minimal APIs.</summary>
public static class McpdApplicationExtensions
{
    /// <summary>
    /// Serves MCP requests for <paramref name="method"/> with <paramref name="handler"/>: unrouted requests run it on
    /// their connection; routing rules may send them to a lane, whose workers run it. Returns <paramref name="app"/>.
    /// </summary>
    public static WebApplication MapMethod(this WebApplication app, string method, McpRequestHandler handler)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Services.GetRequiredService<McpMethodTable>().Map(method, handler);
        return app;
    }
}
