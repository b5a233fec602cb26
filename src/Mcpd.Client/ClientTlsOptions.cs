using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Client;

/// <summary>
/// TLS for a client connection (<c>ModbusClientOptions.Tls</c>, <c>McpClientOptions.Tls</c>): whom the client trusts,
/// the certificate it presents when the server asks for one, and the name the server must prove. Immutable, so one
/// instance serves every connection and reconnect of any number of clients.
/// </summary>
public sealed class ClientTlsOptions
{
    /// <summary>Built at the first handshake; a race builds it twice and keeps either, which are equal.</summary>
    private SslStreamCertificateContext? _clientContext;

    /// <summary>
    /// The CA certificates the server's certificate must chain to, and only to; null (the default) trusts the
    /// system's roots instead.
    /// </summary>
    public X509Certificate2Collection? TrustedAuthorities { get; init; }

    /// <summary>The certificate, with its private key, presented when the server asks for one; null presents none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Intermediate CA certificates sent with <see cref="ClientCertificate"/> (a server needs them when it trusts only the root).</summary>
    public X509Certificate2Collection? ClientCertificateChain { get; init; }

    /// <summary>
    /// The name the server's certificate must carry, also sent as the TLS server name (SNI); null (the default) is
    /// the host the client connects to, name or address.
    /// </summary>
    public string? TargetHost { get; init; }

    /// <summary>The TLS versions offered: 1.2 and 1.3 (Modbus/TCP Security requires 1.2 or later).</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The client certificate with its chain, built once and reused by every handshake; null without a certificate.</summary>
    internal SslStreamCertificateContext? ClientCertificateContext =>
        ClientCertificate is null ? null : _clientContext ??= SslStreamCertificateContext.Create(ClientCertificate, ClientCertificateChain, offline: true);

    /// <summary>
    /// Reads PEM files: <paramref name="caFile"/> the CA certificates to trust (null: the system's roots);
    /// <paramref name="certificateFile"/> the client certificate, followed by any intermediate CA certificates;
    /// <paramref name="keyFile"/> its private key (null: the key is in <paramref name="certificateFile"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A key file without a certificate file.</exception>
    /// <exception cref="IOException">A file is missing or cannot be read; the message names it.</exception>
    /// <exception cref="CryptographicException">A file holds no certificate, or a key that is not the certificate's; the message names it.</exception>
    public static ClientTlsOptions FromFiles(string? caFile, string? certificateFile = null, string? keyFile = null)
    {
        if (keyFile is not null && certificateFile is null)
        {
            throw new ArgumentException("A private key needs its certificate: give the certificate file too.", nameof(certificateFile));
        }

        var authorities = caFile is null ? null : ReadCertificates(caFile);
        if (certificateFile is null)
        {
            return new ClientTlsOptions { TrustedAuthorities = authorities };
        }

        var chain = ReadCertificates(certificateFile);
        chain.RemoveAt(0);
        // The certificate file was read whole above: what fails now is the key.
        var certificate = Read(keyFile ?? certificateFile, () =>
        {
            try
            {
                return X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            }
            catch (ArgumentException ex)
            {
                throw new CryptographicException($"this is not the private key of {Path.GetFullPath(certificateFile)}", ex);
            }
        });
        return new ClientTlsOptions { TrustedAuthorities = authorities, ClientCertificate = certificate, ClientCertificateChain = chain };
    }

    /// <summary>Every certificate of a PEM bundle, at least one.</summary>
    private static X509Certificate2Collection ReadCertificates(string file)
    {
        var bundle = Read(file, () =>
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(file);
            return certificates;
        });
        return bundle.Count > 0 ? bundle : throw new CryptographicException($"{Path.GetFullPath(file)}: no certificate in it (PEM, -----BEGIN CERTIFICATE-----).");
    }

    /// <summary>Runs <paramref name="read"/>, naming <paramref name="file"/> in what it throws.</summary>
    private static T Read<T>(string file, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{Path.GetFullPath(file)}: {ex switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => ex.Message.TrimEnd('.'),
            }}", ex);
        }
        catch (CryptographicException ex)
        {
            throw new CryptographicException($"{Path.GetFullPath(file)}: {ex.Message}", ex);
        }
    }
}
