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
}
