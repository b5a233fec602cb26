namespace Mcpd.Server.Gateway;

/// <summary>
/// TLS to a Modbus TCP upstream (config <c>upstreams:NAME:tls</c>): a device that speaks Modbus/TCP Security, or any
/// Modbus TCP behind a TLS terminator. The files are read when the gateway starts.
/// </summary>
public sealed class UpstreamTlsOptions
{
    /// <summary>CA certificates (PEM) the device's certificate must chain to, and only to; absent: the system's trusted roots.</summary>
    public string? Ca { get; set; }

    /// <summary>mcpd's client certificate (PEM, with any intermediates), carrying the role the device grants; absent: none is sent.</summary>
    public string? Certificate { get; set; }

    /// <summary>Its private key (PEM).</summary>
    public string? Key { get; set; }

    /// <summary>The name the device's certificate must carry; absent: the host of <c>address</c>.</summary>
    public string? ServerName { get; set; }

    /// <summary>True when TLS is asked for: any key set.</summary>
    public bool IsEnabled => Ca is not null || Certificate is not null || ServerName is not null;
}
