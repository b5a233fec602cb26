using System.Net;
using Mcpd.Server.Security;

namespace Mcpd.Server.Admin;

/// <summary>The HTTP admin listener (config section <c>admin</c>): health, metrics and the admin API (docs/api.md).</summary>
public sealed class AdminOptions
{
    /// <summary>Port of the HTTP admin listener; 0 picks a free one; <c>--http-port</c> overrides.</summary>
    public int Port { get; set; } = 8081;

    /// <summary>Address to listen on; loopback by default, since the API can change register values.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>HTTPS on the admin listener when a certificate is set.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>False: no admin listener at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Host names (or addresses) the API answers to, ports ignored; a request naming another Host is refused, so a
    /// page whose DNS name is rebound to this address cannot use a browser to reach the API. Empty: <see cref="DefaultAllowedHosts"/>.
    /// </summary>
    public IList<string> AllowedHosts { get; init; } = [];

    /// <summary>Cross-origin requests from browsers: none unless origins are listed.</summary>
    public AdminCorsOptions Cors { get; set; } = new();

    /// <summary>
    /// The hosts allowed when <see cref="AllowedHosts"/> is empty: the loopback names, and <paramref name="bind"/>
    /// when it is one address (not "*", 0.0.0.0 or ::), as a Host header writes it (IPv6 in brackets).
    /// </summary>
    public static IReadOnlyList<string> DefaultAllowedHosts(string bind)
    {
        string[] loopback = ["localhost", "127.0.0.1", "[::1]"];
        if (!IPAddress.TryParse(bind, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return loopback;
        }

        var host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return loopback.Contains(host, StringComparer.OrdinalIgnoreCase) ? loopback : [.. loopback, host];
    }
}

/// <summary>Config section <c>admin:cors</c>.</summary>
public sealed class AdminCorsOptions
{
    /// <summary>Origins (<c>https://dashboard.example.com</c>) whose pages may call the API from a browser; empty: none.</summary>
    public IList<string> Origins { get; init; } = [];
}
