using Mcpd.Server.Admin;
using Mcpd.Server.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// <c>GET /api/config</c>: the configuration the server runs on now, key by key with secrets masked
/// (<see cref="EffectiveSettings"/>), the file it watches and how the file's last change went (docs/api.md).
/// </summary>
internal static class ConfigEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/api/config", ([FromServices] IConfiguration configuration, [FromServices] ReloadStatus reloads) => Results.Json(new
        {
            file = reloads.WatchedFile,
            lastReload = reloads.Last,
            settings = EffectiveSettings.Of(configuration).Select(setting => new { key = setting.Key, value = setting.Value }),
        })).RequireAuthorization(AdminAccess.ReadPolicy);
}
