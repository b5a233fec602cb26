using System.Net;
using Mcpd.Server.Admin;
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
        else if (admin.Tokens.Count == 0 && admin.Tls.ClientCa is null && !AdminOptions.IsLoopback(admin.Bind))
        {
            problems.Add($"admin:bind: '{admin.Bind}' is reachable from other hosts and the API asks for no credentials, so anyone there could change registers; "
                + "configure admin:tokens (`mcpd token hash --generate` makes one) or admin:tls:clientCa, or bind 127.0.0.1");
        }

        CheckTokens(options, problems);
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

        if (admin.MaxAuthFailuresPerAddress < 1)
        {
            problems.Add($"admin:maxAuthFailuresPerAddress: {admin.MaxAuthFailuresPerAddress} must be at least 1");
        }

        if (admin.AuthFailureWindow <= TimeSpan.Zero)
        {
            problems.Add($"admin:authFailureWindow: {admin.AuthFailureWindow} must be positive");
        }
    }

    private static void CheckTokens(McpdOptions options, List<string> problems)
    {
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var hashes = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Admin.Tokens.Count; i++)
        {
            var token = options.Admin.Tokens[i];
            var path = $"admin:tokens:{i}";
            if (string.IsNullOrWhiteSpace(token.Name))
            {
                problems.Add($"{path}:name: missing; name who holds the token (logs name callers by it)");
            }
            else if (!names.TryAdd(token.Name, i))
            {
                problems.Add($"{path}:name: '{token.Name}' is also the name of admin:tokens:{names[token.Name]}");
            }

            if (token.Sha256.Length != 64 || !token.Sha256.All(char.IsAsciiHexDigit))
            {
                // Never echo the value: it may be the token itself, pasted by mistake.
                problems.Add($"{path}:sha256: not 64 hex digits; write the SHA-256 of the token (`mcpd token hash`), never the token");
            }
            else if (!hashes.TryAdd(token.Sha256, i))
            {
                problems.Add($"{path}:sha256: the same token as admin:tokens:{hashes[token.Sha256]}");
            }

            if (!options.Security.Roles.ContainsKey(token.Role))
            {
                var roles = options.Security.Roles.Count == 0 ? "none is configured" : $"the roles are {string.Join(", ", options.Security.Roles.Keys.Order(StringComparer.OrdinalIgnoreCase))}";
                problems.Add($"{path}:role: '{token.Role}' is not a role of security:roles ({roles})");
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
