using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Client;
using Mcpd.Server.Security;

namespace Mcpd.Testing;

/// <summary>
/// A certificate authority for a test, in a temporary directory: the CA (ca.pem), a server certificate for localhost
/// and 127.0.0.1 (server.pem, server.key), and client certificates with or without a Modbus/TCP Security role.
/// </summary>
public sealed class TestPki : IDisposable
{
    private static readonly TimeSpan Validity = TimeSpan.FromDays(1);

    /// <summary>Makes the CA <paramref name="authorityName"/> (a test with two CAs names them apart) and the server's certificate.</summary>
    public TestPki(string authorityName = "mcpd test CA")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("mcpd-pki-").FullName;
        Authority = DevelopmentCertificates.CreateAuthority(authorityName, Validity);
        DevelopmentCertificates.WritePem(Authority, AuthorityFile, Path.Combine(Directory, "ca.key"));
        RotateServerCertificate();
    }

    /// <summary>Where the files are.</summary>
    public string Directory { get; }

    /// <summary>The CA, with its key.</summary>
    public X509Certificate2 Authority { get; }

    public string AuthorityFile => Path.Combine(Directory, "ca.pem");

    public string ServerCertificateFile => Path.Combine(Directory, "server.pem");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    /// <summary>A client certificate for <paramref name="name"/> with <paramref name="role"/> (null: no role extension), with its key.</summary>
    public X509Certificate2 Client(string name, string? role) => DevelopmentCertificates.CreateClient(Authority, name, role, Validity);

    /// <summary>Writes a client certificate for <paramref name="name"/> with <paramref name="role"/> as NAME.pem and NAME.key, as <c>mcpd cert client</c> does.</summary>
    public (string Certificate, string Key) WriteClient(string name, string? role)
    {
        var files = (Path.Combine(Directory, $"{name}.pem"), Path.Combine(Directory, $"{name}.key"));
        DevelopmentCertificates.WritePem(Client(name, role), files.Item1, files.Item2);
        return files;
    }

    /// <summary>
    /// The TLS options of a client that trusts this CA alone and, given <paramref name="name"/>, presents a certificate
    /// for it with <paramref name="role"/>.
    /// </summary>
    public ClientTlsOptions ClientTls(string? name = null, string? role = null) =>
        new() { TrustedAuthorities = [Authority], ClientCertificate = name is null ? null : Client(name, role) };

    /// <summary>Replaces the server's certificate and key files (each written beside and renamed over, as tools do); returns the new serial number.</summary>
    public string RotateServerCertificate()
    {
        var server = DevelopmentCertificates.CreateServer(Authority, ["localhost", "127.0.0.1", "::1"], Validity);
        var certificate = Path.Combine(Directory, "next.pem");
        var key = Path.Combine(Directory, "next.key");
        DevelopmentCertificates.WritePem(server, certificate, key);
        File.Move(key, ServerKeyFile, overwrite: true);
        File.Move(certificate, ServerCertificateFile, overwrite: true);
        return server.SerialNumber;
    }

    /// <summary>
    /// The settings of a Modbus/TCP Security listener on 127.0.0.1 (any port) with this PKI, and the roles of issue 11:
    /// Viewer reads everything, Operator also writes unit 1's holding registers and coils 0-99.
    /// </summary>
    public Dictionary<string, string?> SecureModbusSettings() => new()
    {
        ["modbus:tls:port"] = "0",
        ["modbus:tls:bind"] = "127.0.0.1",
        ["modbus:tls:certificate"] = ServerCertificateFile,
        ["modbus:tls:key"] = ServerKeyFile,
        ["modbus:tls:clientCa"] = AuthorityFile,
        ["security:roles:Viewer:0:access"] = "read",
        ["security:roles:Operator:0:access"] = "read",
        ["security:roles:Operator:1:access"] = "write",
        ["security:roles:Operator:1:units"] = "1",
        ["security:roles:Operator:1:tables:0"] = "holding",
        ["security:roles:Operator:1:tables:1"] = "coils",
        ["security:roles:Operator:1:addresses"] = "0-99",
    };

    /// <summary>
    /// The settings of TLS on the MCP listeners with this PKI; with <paramref name="clientCertificates"/>, mutual TLS
    /// and two roles: Viewer calls sys.* and reads registers, Operator calls only modbus.pdu.
    /// </summary>
    public Dictionary<string, string?> McpTlsSettings(bool clientCertificates)
    {
        var settings = new Dictionary<string, string?>
        {
            ["mcp:tls:certificate"] = ServerCertificateFile,
            ["mcp:tls:key"] = ServerKeyFile,
        };
        if (clientCertificates)
        {
            settings["mcp:tls:clientCa"] = AuthorityFile;
            settings["security:roles:Viewer:0:access"] = "read";
            settings["security:roles:Viewer:1:methods:0"] = "sys.*";
            settings["security:roles:Operator:0:methods:0"] = "modbus.pdu";
        }

        return settings;
    }

    /// <summary>
    /// A TLS connection to <paramref name="endPoint"/> that trusts this CA alone, presenting <paramref name="certificate"/>
    /// (null: none); the returned stream owns the socket.
    /// </summary>
    public async Task<SslStream> ConnectAsync(IPEndPoint endPoint, X509Certificate2? certificate)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ClientCertificates = certificate is null ? null : [certificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, _) => ChainsTo(Authority, presented),
            }, timeout.Token);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    /// <summary>True when <paramref name="presented"/> chains to <paramref name="authority"/> alone.</summary>
    public static bool ChainsTo(X509Certificate2 authority, X509Certificate? presented)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(presented.GetRawCertData()));
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
