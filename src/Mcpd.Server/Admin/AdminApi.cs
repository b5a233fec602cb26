using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mcpd.Server.Admin;

/// <summary>The HTTP admin API (docs/api.md), served only on the admin listener.</summary>
internal static class AdminApi
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("ok\n"));
    }
}
