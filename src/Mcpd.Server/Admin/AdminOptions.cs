using System.Net;
using Mcpd.Server.Security;

namespace Mcpd.Server.Admin;

/// <summary>The HTTP admin listener (config section <c>admin</c>): health, metrics and the admin API (docs/api.md).</summary>
public sealed class AdminOptions
{
    /// <summary>Port of the HTTP admin listener; 0 picks a free one; <c>--http-port</c> overrides.</summary>
    public int Port { get; set; } = 8081;

    /// <summary>
    /// Address to listen on; loopback by default, since the API can change register values. Any other address needs
    /// <see cref="Tokens"/> or client certificates (<c>tls:clientCa</c>): the configuration check refuses it without.
    /// </summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>HTTPS on the admin listener when a certificate is set; with <c>clientCa</c>, each client's certificate names it and its role.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>False: no admin listener at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Bearer tokens, each with the role of <c>security:roles</c> it acts in. None (and no client certificates): every
    /// request is served, on loopback only. Any: every request but the health probes needs one (docs/security.md).
    /// </summary>
    public IList<AdminTokenOptions> Tokens { get; init; } = [];

    /// <summary>
    /// Host names (or addresses) the API answers to, ports ignored; a request naming another Host is refused, so a
    /// page whose DNS name is rebound to this address cannot use a browser to reach the API. Empty: <see cref="DefaultAllowedHosts"/>.
    /// </summary>
    public IList<string> AllowedHosts { get; init; } = [];

    /// <summary>Cross-origin requests from browsers: none unless origins are listed.</summary>
    public AdminCorsOptions Cors { get; set; } = new();

    /// <summary>Failed authentications one remote address may make per <see cref="AuthFailureWindow"/>; then its requests are answered 429.</summary>
    public int MaxAuthFailuresPerAddress { get; set; } = 10;

    /// <summary>The window of <see cref="MaxAuthFailuresPerAddress"/>; it starts with an address's first failure.</summary>
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(1);

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

    /// <summary>True when <paramref name="bind"/> is reachable from this host only: "localhost" or a loopback address.</summary>
    public static bool IsLoopback(string bind) =>
        string.Equals(bind, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(bind, out var address) && IPAddress.IsLoopback(address));
}

/// <summary>One admin token (config <c>admin:tokens:N</c>): who, the hash of what they present, and their role.</summary>
public sealed class AdminTokenOptions
{
    /// <summary>Who holds the token, as logs name the caller; never the token itself.</summary>
    public string Name { get; set; } = "";

    /// <summary>Hex SHA-256 of the token's UTF-8 bytes (<c>mcpd token hash</c>); the token itself is never in the configuration.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>A role of <c>security:roles</c>: what the caller may read and write.</summary>
    public string Role { get; set; } = "";
}

/// <summary>Config section <c>admin:cors</c>.</summary>
public sealed class AdminCorsOptions
{
    /// <summary>Origins (<c>https://dashboard.example.com</c>) whose pages may call the API from a browser; empty: none.</summary>
    public IList<string> Origins { get; init; } = [];
}
