using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Admin;

/// <summary>
/// Answers only requests whose Host names this server (<c>admin.allowedHosts</c>, docs/security.md), against DNS
/// rebinding: a page of evil.example whose name is rebound to 127.0.0.1 makes the browser send <c>Host:
/// evil.example</c> to the API. Any other Host is refused with 421 Misdirected Request (RFC 9110 7.4 and 15.5.20: this
/// server is not authoritative for that origin); ports are ignored (the name is what a rebinding attack cannot fake). The health probes, which
/// load balancers call by any name, are exempt; ASP.NET Core's HostFiltering answers 400 in HTML, not the API's JSON.
/// </summary>
internal sealed class AdminHostFilter(RequestDelegate next, IOptionsMonitor<AdminOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var host = context.Request.Host;
        if (context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null || IsAllowed(host.Host, options.CurrentValue))
        {
            return next(context);
        }

        return AdminErrors.WriteAsync(context, StatusCodes.Status421MisdirectedRequest,
            $"the Host '{host.Value}' is not a name of this server; name it by one of admin.allowedHosts (default: localhost, 127.0.0.1, [::1] and admin.bind)");
    }

    /// <summary>True when <paramref name="host"/> (a Host header's name, without its port) is allowed by <paramref name="options"/>; "*" allows any.</summary>
    public static bool IsAllowed(string host, AdminOptions options)
    {
        IEnumerable<string> allowed = options.AllowedHosts.Count > 0 ? options.AllowedHosts : AdminOptions.DefaultAllowedHosts(options.Bind);
        return host.Length > 0 && allowed.Any(entry => entry == "*" || string.Equals(NameOf(entry), host, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The name of an <c>allowedHosts</c> entry as a Host header carries it: without a port, an IPv6 address in brackets.</summary>
    public static string NameOf(string entry) =>
        IPAddress.TryParse(entry, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6 && !entry.StartsWith('[')
            ? $"[{address}]"
            : new HostString(entry).Host;
}
