using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Server.Security;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// The development PKI: openssl verifies its chains, purposes and names; the certificates do a mutual TLS handshake
/// in which the server reads the client's role; a client of another CA is refused; the files are PEM with the key
/// readable by its owner only.
/// </summary>
public sealed class DevelopmentCertificatesTests : IDisposable
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-pki-").FullName;

    private readonly X509Certificate2 _authority = DevelopmentCertificates.CreateAuthority("mcpd test CA", TimeSpan.FromDays(2));

    [Fact]
    public async Task Openssl_verifies_the_server_and_client_certificates_against_the_CA_for_their_purposes()
    {
        using var serverCertificate = DevelopmentCertificates.CreateServer(_authority, ["localhost", "127.0.0.1", "::1", "plc-7.example"], Day);
        using var clientCertificate = DevelopmentCertificates.CreateClient(_authority, "alice", "Operator", Day);
        var ca = Write(_authority, "ca");
        var server = Write(serverCertificate, "server");
        var client = Write(clientCertificate, "alice");

        var servers = await OpenSsl.RunAsync("verify", "-CAfile", ca, "-purpose", "sslserver", server);
        var clients = await OpenSsl.RunAsync("verify", "-CAfile", ca, "-purpose", "sslclient", client);
        var wrongPurpose = await OpenSsl.RunAsync("verify", "-CAfile", ca, "-purpose", "sslserver", client);
        var names = await OpenSsl.RunAsync("x509", "-in", server, "-noout", "-ext", "subjectAltName");
        var authority = await OpenSsl.RunAsync("x509", "-in", ca, "-noout", "-text");

        Assert.Contains($"{server}: OK", servers.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"{client}: OK", clients.StandardOutput, StringComparison.Ordinal);
        Assert.False(wrongPurpose.Succeeded, wrongPurpose.ToString());
        Assert.Contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:plc-7.example", names.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"Basic Constraints: critical\s+CA:TRUE, pathlen:0", authority.StandardOutput);
        Assert.Matches(@"Key Usage: critical\s+Certificate Sign, CRL Sign", authority.StandardOutput);
        Assert.Contains("Signature Algorithm: ecdsa-with-SHA256", authority.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("NIST CURVE: P-256", authority.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    public async Task A_mutual_TLS_handshake_succeeds_and_the_server_reads_the_clients_role(string targetHost)
    {
        using var server = DevelopmentCertificates.CreateServer(_authority, ["localhost", "127.0.0.1"], Day);
        using var client = DevelopmentCertificates.CreateClient(_authority, "alice", "Operator", Day);

        var handshake = await HandshakeAsync(server, client, targetHost);

        Assert.Equal("CN=alice", handshake.ClientSubject);
        Assert.Equal("Operator", handshake.ClientRole);
        Assert.Equal(server.Thumbprint, handshake.ServerThumbprint);
    }

    [Fact]
    public async Task A_client_certificate_of_another_CA_is_refused()
    {
        using var stranger = DevelopmentCertificates.CreateAuthority("another CA", Day);
        using var server = DevelopmentCertificates.CreateServer(_authority, ["localhost"], Day);
        using var client = DevelopmentCertificates.CreateClient(stranger, "mallory", "Operator", Day);

        await Assert.ThrowsAsync<AuthenticationException>(() => HandshakeAsync(server, client, "localhost"));
    }

    [Fact]
    public void Certificates_start_a_minute_ago_never_outlive_their_CA_and_have_random_positive_16_byte_serials()
    {
        var before = DateTime.UtcNow;
        using var first = DevelopmentCertificates.CreateClient(_authority, "alice", null, TimeSpan.FromDays(3650));
        using var second = DevelopmentCertificates.CreateClient(_authority, "alice", null, Day);

        Assert.InRange(first.NotBefore.ToUniversalTime(), before.AddMinutes(-1).AddSeconds(-2), before.AddMinutes(-1).AddSeconds(2));
        Assert.Equal(_authority.NotAfter, first.NotAfter);
        Assert.InRange(second.NotAfter.ToUniversalTime(), before.Add(Day).AddSeconds(-2), before.Add(Day).AddSeconds(2));
        foreach (var certificate in new[] { _authority, first, second })
        {
            var serial = certificate.SerialNumberBytes.Span;
            Assert.Equal(16, serial.Length);
            Assert.InRange(serial[0], 1, 0x7F);
            Assert.True(certificate.HasPrivateKey);
        }

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
    }

    [Theory]
    [InlineData("foo bar")]
    [InlineData("127.1")] // IPAddress.TryParse reads 127.0.0.1; nobody means that here
    [InlineData("1")]
    [InlineData("10.0.0.300")]
    [InlineData("")]
    public void A_host_that_is_neither_an_address_nor_a_DNS_name_is_refused_by_name(string host)
    {
        var refused = Assert.Throws<ArgumentException>(() => DevelopmentCertificates.CreateServer(_authority, ["localhost", host], Day));

        Assert.Equal($"'{host}' is neither an IP address nor a DNS name", refused.Message);
    }

    [Fact]
    public void A_common_name_has_1_to_64_characters()
    {
        using var longest = DevelopmentCertificates.CreateClient(_authority, new string('a', 64), null, Day);

        var refused = Assert.Throws<ArgumentException>(() => DevelopmentCertificates.CreateAuthority(new string('a', 65), Day));

        Assert.Equal($"'{new string('a', 65)}' cannot be a common name, which has 1 to 64 characters (RFC 5280 A.1)", refused.Message);
        Assert.Throws<ArgumentException>(() => DevelopmentCertificates.CreateClient(_authority, "", null, Day));
    }

    [Fact]
    public void Only_a_CA_signs()
    {
        using var leaf = DevelopmentCertificates.CreateClient(_authority, "alice", null, Day);

        var refused = Assert.Throws<ArgumentException>(() => DevelopmentCertificates.CreateClient(leaf, "bob", null, Day));

        Assert.Equal("CN=alice is no CA: its Basic Constraints do not say CA:TRUE", refused.Message);
    }

    [Fact]
    public void A_CA_with_an_RSA_key_signs_too()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=RSA CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var rsaAuthority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        using var client = DevelopmentCertificates.CreateClient(rsaAuthority, "alice", "Operator", Day);

        using var chain = new X509Chain { ChainPolicy = TrustOnly(rsaAuthority) };
        Assert.True(chain.Build(client), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void The_PEM_files_load_back_with_the_key_and_the_key_file_is_its_owners_only_even_when_it_existed()
    {
        using var client = DevelopmentCertificates.CreateClient(_authority, "alice", "Operator", Day);
        var certificatePath = Path.Combine(_directory, "alice.pem");
        var keyPath = Path.Combine(_directory, "alice.key");
        File.WriteAllText(keyPath, "an older key, readable by all");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        DevelopmentCertificates.WritePem(client, certificatePath, keyPath);
        using var loaded = DevelopmentCertificates.Load(certificatePath, keyPath);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(certificatePath), StringComparison.Ordinal);
        Assert.Equal(client.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal("Operator", ModbusRoleExtension.RoleOf(loaded));
    }

    public void Dispose()
    {
        _authority.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// A TLS server on 127.0.0.1 that requires a client certificate and trusts only the CA, and a client that presents
    /// <paramref name="client"/> and trusts only the CA too; the server's handshake fails first when it refuses.
    /// </summary>
    private async Task<Handshake> HandshakeAsync(X509Certificate2 server, X509Certificate2 client, string targetHost)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var connecting = new TcpClient();
        await connecting.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, timeout.Token);
        using var accepted = await listener.AcceptTcpClientAsync(timeout.Token);
        await using var serverStream = new SslStream(accepted.GetStream());
        await using var clientStream = new SslStream(connecting.GetStream());

        var serverHandshake = serverStream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = server,
            ClientCertificateRequired = true,
            CertificateChainPolicy = TrustOnly(_authority),
            RemoteCertificateValidationCallback = (_, _, _, errors) => errors == SslPolicyErrors.None,
        }, timeout.Token);
        var clientHandshake = clientStream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificateContext = SslStreamCertificateContext.Create(client, additionalCertificates: null, offline: true),
            CertificateChainPolicy = TrustOnly(_authority),
            RemoteCertificateValidationCallback = (_, _, _, errors) => errors == SslPolicyErrors.None,
        }, timeout.Token);
        await Task.WhenAll(serverHandshake, clientHandshake);

        var received = Assert.IsType<X509Certificate2>(serverStream.RemoteCertificate);
        return new Handshake(received.Subject, ModbusRoleExtension.RoleOf(received), clientStream.RemoteCertificate?.GetCertHashString());
    }

    /// <summary>What the server saw of the client's certificate, and the thumbprint of the certificate the client saw.</summary>
    private sealed record Handshake(string ClientSubject, string? ClientRole, string? ServerThumbprint);

    private static X509ChainPolicy TrustOnly(X509Certificate2 authority)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(authority);
        return policy;
    }

    /// <summary>Writes <paramref name="certificate"/> as NAME.pem and NAME.key in the test's directory; returns NAME.pem's path.</summary>
    private string Write(X509Certificate2 certificate, string name)
    {
        var path = Path.Combine(_directory, name + ".pem");
        DevelopmentCertificates.WritePem(certificate, path, Path.Combine(_directory, name + ".key"));
        return path;
    }
}
