using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Server.Security;

/// <summary>
/// A development PKI (<c>mcpd cert</c>, docs/security.md; tests): a CA, server certificates and client certificates
/// with a Modbus/TCP Security role (<see cref="ModbusRoleExtension"/>), each with an ECDSA P-256 key, signed with
/// SHA-256. Every certificate returned holds its private key. Validity starts a minute in the past, so a peer whose
/// clock is a little behind accepts it, and a certificate never outlives the CA that signs it (RFC 5280 6.1.3:
/// validation would refuse it then): its end is the CA's end at the latest. Not for production: the CA key sits in
/// a file.
/// </summary>
public static class DevelopmentCertificates
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    private const int MaxCommonNameLength = 64;

    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1"; // id-kp-serverAuth, RFC 5280 4.2.1.12

    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2"; // id-kp-clientAuth

    /// <summary>
    /// A self-signed CA named <paramref name="name"/> that signs end-entity certificates only (path length 0):
    /// BasicConstraints CA, KeyUsage keyCertSign and cRLSign, SubjectKeyIdentifier (RFC 5280 4.2.1).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or longer than 64 characters.</exception>
    public static X509Certificate2 CreateAuthority(string name, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(CommonName(name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), now - ClockSkew, now + validity, RandomSerialNumber());
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// A TLS server certificate signed by <paramref name="authority"/> for <paramref name="hosts"/> (at least one):
    /// each an IP address (IPv6, or IPv4 as four decimal numbers) or a DNS name, all in its SubjectAltName (what
    /// clients check, RFC 6125), the first also its common name; ExtendedKeyUsage serverAuth.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// No host, one that is neither an IP address nor a DNS name, or a first one longer than 64 characters; or
    /// <paramref name="authority"/> has expired, is no CA or holds no private key.
    /// </exception>
    public static X509Certificate2 CreateServer(X509Certificate2 authority, IEnumerable<string> hosts, TimeSpan validity)
    {
        var names = new SubjectAlternativeNameBuilder();
        var all = hosts.ToList();
        if (all.Count == 0)
        {
            throw new ArgumentException("a server certificate needs at least one host name or address");
        }

        foreach (var host in all)
        {
            AddHost(names, host);
        }

        return Issue(authority, all[0], validity, ServerAuthenticationOid, [names.Build()]);
    }

    /// <summary>
    /// A TLS client certificate signed by <paramref name="authority"/> for <paramref name="commonName"/>, with the
    /// Modbus/TCP Security <paramref name="role"/> when it is not null; ExtendedKeyUsage clientAuth.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="commonName"/> is empty or longer than 64 characters, or <paramref name="authority"/> has expired,
    /// is no CA or holds no private key.
    /// </exception>
    public static X509Certificate2 CreateClient(X509Certificate2 authority, string commonName, string? role, TimeSpan validity) =>
        Issue(authority, commonName, validity, ClientAuthenticationOid, role is null ? [] : [ModbusRoleExtension.Create(role)]);

    /// <summary>
    /// Writes <paramref name="certificate"/> as PEM to <paramref name="certificatePath"/> and its private key as
    /// PKCS#8 PEM to <paramref name="keyPath"/>, replacing files that exist. On Unix the key file is made readable by
    /// its owner only (0600) before the key is written into it, even when it existed with another mode.
    /// </summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using var key = PrivateKeyOf(certificate);
        var ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = ownerOnly;
        }

        using (var stream = new FileStream(keyPath, options))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, ownerOnly);
            }

            using var writer = new StreamWriter(stream);
            writer.Write(key.ExportPkcs8PrivateKeyPem());
            writer.Write('\n');
        }

        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
    }

    /// <summary>
    /// The certificate in <paramref name="certificatePath"/> with the private key in <paramref name="keyPath"/> (PEM,
    /// unencrypted, as <see cref="WritePem"/> writes them or openssl does). On Linux SslStream uses it as it is; on
    /// Windows SslStream needs the key in a store (export and import it as PKCS#12).
    /// </summary>
    /// <exception cref="CryptographicException">The files are not PEM, or the key does not match the certificate.</exception>
    public static X509Certificate2 Load(string certificatePath, string keyPath) =>
        X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

    /// <summary>
    /// An end-entity certificate signed by <paramref name="authority"/> (its key ECDSA, or RSA with PKCS#1 v1.5, so a
    /// CA made with openssl's defaults serves too): KeyUsage digitalSignature (ECDHE signs with it), the extended key
    /// usage, the authority's and its own key identifiers, and <paramref name="extensions"/>.
    /// </summary>
    private static X509Certificate2 Issue(X509Certificate2 authority, string commonName, TimeSpan validity, string extendedKeyUsage, X509Extension[] extensions)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(CommonName(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedKeyUsage)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(AuthorityKeyIdentifierOf(authority));
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        var now = DateTimeOffset.UtcNow;
        if (new DateTimeOffset(authority.NotAfter) <= now)
        {
            throw new ArgumentException($"the CA {authority.Subject} expired on {authority.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC");
        }

        var notBefore = Max(now - ClockSkew, new DateTimeOffset(authority.NotBefore));
        var notAfter = Min(now + validity, new DateTimeOffset(authority.NotAfter));
        using var authorityKey = SigningKeyOf(authority);
        var signer = authorityKey is RSA rsa ? X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1) : X509SignatureGenerator.CreateForECDsa((ECDsa)authorityKey);
        using var certificate = request.Create(authority.SubjectName, signer, notBefore, notAfter, RandomSerialNumber());
        return certificate.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// The private key of a CA that may sign certificates (RFC 5280 4.2.1.9: BasicConstraints CA; 4.2.1.3: keyCertSign
    /// when it limits its key's usage).
    /// </summary>
    private static AsymmetricAlgorithm SigningKeyOf(X509Certificate2 authority)
    {
        if (authority.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            throw new ArgumentException($"{authority.Subject} is no CA: its Basic Constraints do not say CA:TRUE");
        }

        if (authority.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault() is { } usage && !usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign))
        {
            throw new ArgumentException($"the CA {authority.Subject} may not sign certificates: its Key Usage lacks keyCertSign");
        }

        return PrivateKeyOf(authority);
    }

    private static AsymmetricAlgorithm PrivateKeyOf(X509Certificate2 certificate) =>
        (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey() ?? certificate.GetRSAPrivateKey()
            ?? throw new ArgumentException($"the certificate {certificate.Subject} holds no ECDSA or RSA private key");

    /// <summary>The authority's key identifier when it has one (RFC 5280 4.2.1.1), else its issuer and serial number.</summary>
    private static X509AuthorityKeyIdentifierExtension AuthorityKeyIdentifierOf(X509Certificate2 authority) =>
        authority.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is { } subjectKeyIdentifier
            ? X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKeyIdentifier)
            : X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: false, includeIssuerAndSerial: true);

    /// <summary>
    /// An IP address as written in full (<see cref="IPAddress.TryParse(string, out IPAddress)"/> also takes "1" and
    /// "127.1", which are no address anyone means here), else a DNS name whose last label is not all digits
    /// (RFC 1123 2.1: that would be a mistyped address).
    /// </summary>
    private static void AddHost(SubjectAlternativeNameBuilder names, string host)
    {
        if (IPAddress.TryParse(host, out var address) && (address.AddressFamily == AddressFamily.InterNetworkV6 || address.ToString() == host))
        {
            names.AddIpAddress(address);
        }
        else if (Uri.CheckHostName(host) == UriHostNameType.Dns && !host.Split('.')[^1].All(char.IsAsciiDigit))
        {
            names.AddDnsName(host);
        }
        else
        {
            throw new ArgumentException($"'{host}' is neither an IP address nor a DNS name");
        }
    }

    /// <summary>A subject of one common name, 1 to 64 characters (RFC 5280 appendix A.1, ub-common-name).</summary>
    private static X500DistinguishedName CommonName(string name)
    {
        if (name.Length is 0 or > MaxCommonNameLength)
        {
            throw new ArgumentException($"'{name}' cannot be a common name, which has 1 to {MaxCommonNameLength} characters (RFC 5280 A.1)");
        }

        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(name);
        return builder.Build();
    }

    /// <summary>16 random bytes, the first in 1..127: a positive INTEGER in its shortest DER form (RFC 5280 4.1.2.2).</summary>
    private static byte[] RandomSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] % 127) + 1);
        return serial;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
