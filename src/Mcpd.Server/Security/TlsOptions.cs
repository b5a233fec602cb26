namespace Mcpd.Server.Security;

/// <summary>
/// TLS on a listener (config <c>modbus:tls</c>, <c>mcp:tls</c>, <c>admin:tls</c>; docs/security.md). The files are
/// read at start and again whenever they change, so a certificate is rotated by replacing its files.
/// </summary>
public class TlsOptions
{
    /// <summary>The server's certificate, PEM, optionally followed by its intermediate CA certificates. Absent: no TLS.</summary>
    public string? Certificate { get; set; }

    /// <summary>The certificate's private key, PEM (PKCS#8, or a traditional RSA or EC key).</summary>
    public string? Key { get; set; }

    /// <summary>
    /// CA certificates, PEM, that client certificates must chain to. Set: every client must present such a
    /// certificate (mutual TLS), and its subject and role are the client's identity.
    /// </summary>
    public string? ClientCa { get; set; }

    /// <summary>A handshake not complete within this time is dropped.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Handshakes in progress at once on the listener; a connection beyond it is closed before its handshake starts.</summary>
    public int MaxConcurrentHandshakes { get; set; } = 64;

    /// <summary>True when a certificate is configured.</summary>
    public bool IsEnabled => !string.IsNullOrEmpty(Certificate);
}
