using System.Net;
using Microsoft.AspNetCore.Http;

namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>admin</c> (part of <see cref="McpdOptionsValidator"/>; docs/security.md says why each rule is there).</summary>
internal static class AdminValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        var admin = options.Admin;
        if (!admin.Enabled)
        {
            return;
        }

        if (admin.Port is < 0 or > 65535)
        {
            problems.Add($"admin:port: {admin.Port} is outside 0..65535");
        }

        if (!McpdOptionsValidator.TryParseBind(admin.Bind, out _))
        {
            problems.Add($"admin:bind: '{admin.Bind}' is not \"*\", \"localhost\" or an IP address");
        }

        for (var i = 0; i < admin.AllowedHosts.Count; i++)
        {
            var host = admin.AllowedHosts[i];
            if (!IsHostEntry(host))
            {
                problems.Add($"admin:allowedHosts:{i}: '{host}' is not a host name or an IP address (a port is allowed and ignored; \"*\" allows any)");
            }
        }

        for (var i = 0; i < admin.Cors.Origins.Count; i++)
        {
            var origin = admin.Cors.Origins[i];
            if (!IsOrigin(origin))
            {
                problems.Add($"admin:cors:origins:{i}: '{origin}' is not an origin such as https://dashboard.example.com (scheme, host and port only, as a browser sends it)");
            }
        }
    }

    /// <summary>"*", an IP address, or a host name or bracketed IPv6 address with perhaps a port: what a Host header may carry.</summary>
    private static bool IsHostEntry(string entry)
    {
        if (entry == "*" || IPAddress.TryParse(entry, out _))
        {
            return true;
        }

        var host = new HostString(entry);
        return Uri.CheckHostName(host.Host.Trim('[', ']')) != UriHostNameType.Unknown
            && string.Equals(entry, host.Port is { } port ? $"{host.Host}:{port}" : host.Host, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>An origin as a browser sends it in <c>Origin</c> (RFC 6454 6.1): http or https, a host, perhaps a port; no path, no slash.</summary>
    private static bool IsOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), origin, StringComparison.OrdinalIgnoreCase) && uri.UserInfo.Length == 0;
}
