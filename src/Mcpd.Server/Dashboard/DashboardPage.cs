using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// The dashboard's files (docs/dashboard.md): plain HTML, CSS and JavaScript modules embedded in this assembly
/// (<c>Dashboard/wwwroot</c>), so <c>dotnet run</c> serves them with no front-end build. <c>/</c> is the page and
/// <c>/dashboard/NAME</c> the rest. They hold no data and need no caller (a browser cannot send a bearer token when it
/// opens a page); everything they show comes from the admin API and <c>/api/live</c>, which check the caller. Each
/// answer carries an ETag (the content's hash) and a content security policy that allows this origin only.
/// </summary>
internal static class DashboardPage
{
    private const string ResourcePrefix = "Mcpd.Server.Dashboard.wwwroot.";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary();

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", (HttpContext context) => Serve(context, "index.html")).AllowAnonymous();
        endpoints.MapGet("/dashboard/{name}", (string name, HttpContext context) => Serve(context, name)).AllowAnonymous();
    }

    private static IResult Serve(HttpContext context, string name)
    {
        if (!Assets.Value.TryGetValue(name, out var asset))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers[HeaderNames.ETag] = asset.ETag;
        headers[HeaderNames.CacheControl] = "no-cache";
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers[HeaderNames.ContentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        headers["Referrer-Policy"] = "no-referrer";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var name = resource[ResourcePrefix.Length..];
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
            assets[name] = new Asset(content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Asset(byte[] Content, string ContentType, string ETag);
}
