using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Client.Internal;

/// <summary>
/// The client's side of a TLS handshake: the server must chain to <see cref="ClientTlsOptions.TrustedAuthorities"/>
/// (only to them) or to the system's roots, and carry the target host's name; the client certificate goes out when
/// the server asks. Every failure is an <see cref="AuthenticationException"/> that says which side refused and why.
/// </summary>
internal static class ClientTlsHandshake
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1"; // id-kp-serverAuth, RFC 5280 4.2.1.12

    private const string SubjectAlternativeName = "2.5.29.17";

    /// <summary>
    /// Runs the handshake over <paramref name="network"/> and returns the stream to speak the protocol over. When the
    /// server asked for a client certificate, its verdict on it comes after the handshake (<see cref="ClientCertificateVerdictStream"/>),
    /// which <paramref name="verdictWindow"/> bounds.
    /// </summary>
    /// <exception cref="AuthenticationException">This client refused the server, or the handshake failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the handshake.</exception>
    public static async Task<Stream> AuthenticateAsync(NetworkStream network, string host, int port, ClientTlsOptions tls, TimeSpan verdictWindow, CancellationToken cancellationToken)
    {
        var server = new HostPort(host, port).ToString();
        var targetHost = tls.TargetHost ?? host;
        string? rejection = null;
        var askedForMissingCertificate = false;
        var clientCertificate = tls.ClientCertificateContext;
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = tls.Protocols,
            ClientCertificateContext = clientCertificate,
            // Called once before the server speaks, and again only if the server then asks for a certificate.
            LocalCertificateSelectionCallback = clientCertificate is not null ? null : (_, _, _, serverCertificate, _) =>
            {
                askedForMissingCertificate |= serverCertificate is not null;
                return null!;
            },
            CertificateChainPolicy = tls.TrustedAuthorities is { } authorities ? OnlyTo(authorities) : null,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                rejection = errors == SslPolicyErrors.None ? null : DescribeRejection(certificate, chain, errors, targetHost, tls.TrustedAuthorities);
                return rejection is null;
            },
        };
        var stream = new SslStream(network, leaveInnerStreamOpen: false);
        var authenticated = false;
        try
        {
            await stream.AuthenticateAsClientAsync(options, cancellationToken);
            authenticated = true;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            throw ex switch
            {
                AuthenticationException when rejection is not null => new AuthenticationException($"This client refused the server {server}: {rejection}.", ex),
                IOException => new AuthenticationException(
                    $"{server} closed the connection during the TLS handshake: it may not speak TLS on this port (a plain Modbus TCP or MCP port), or it refused this client.", ex),
                _ => new AuthenticationException($"The TLS handshake with {server} failed: {Innermost(ex).Message.TrimEnd('.')}.", ex),
            };
        }
        finally
        {
            if (!authenticated)
            {
                await stream.DisposeAsync();
            }
        }

        if (stream.LocalCertificate is { } presented)
        {
            return new ClientCertificateVerdictStream(stream, verdictWindow,
                $"{server} refused the client certificate {presented.Subject} (issued by {presented.Issuer}): it closed the connection right after the TLS handshake "
                + "(a server accepts only certificates of the CA it trusts for clients, within their validity, for client authentication)");
        }

        return askedForMissingCertificate
            ? new ClientCertificateVerdictStream(stream, verdictWindow,
                $"{server} requires a client certificate and none was given: it closed the connection right after the TLS handshake "
                + "(ClientTlsOptions.ClientCertificate; mcpd --cert and --key)")
            : stream;
    }

    /// <summary>Trust in <paramref name="authorities"/> alone: the system's roots do not count.</summary>
    private static X509ChainPolicy OnlyTo(X509Certificate2Collection authorities)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // A private CA publishes no revocation lists; withdrawing a server certificate means rotating the CA.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(authorities);
        policy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        return policy;
    }

    /// <summary>Why the server's certificate is refused, in words: "its certificate CN=x (issued by CN=y) does not chain to ...".</summary>
    private static string DescribeRejection(X509Certificate? presented, X509Chain? chain, SslPolicyErrors errors, string targetHost, X509Certificate2Collection? authorities)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return "it presented no certificate";
        }

        var certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        var problems = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            problems.Add(DescribeChain(certificate, chain, authorities));
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            problems.Add($"is for {string.Join(", ", NamesOf(certificate))}, not {targetHost}");
        }

        return $"its certificate {certificate.Subject} (issued by {certificate.Issuer}) {string.Join(" and ", problems)}";
    }

    private static string DescribeChain(X509Certificate2 certificate, X509Chain? chain, X509Certificate2Collection? authorities)
    {
        var statuses = chain?.ChainStatus.Select(s => s.Status).Aggregate(X509ChainStatusFlags.NoError, (all, status) => all | status) ?? X509ChainStatusFlags.NoError;
        if (statuses.HasFlag(X509ChainStatusFlags.NotTimeValid))
        {
            return $"is outside its validity ({certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u})";
        }

        if (statuses.HasFlag(X509ChainStatusFlags.NotValidForUsage))
        {
            return "is not for server authentication (its extended key usage)";
        }

        var trusted = authorities is null
            ? "any of the system's trusted roots"
            : $"the trusted CA{(authorities.Count == 1 ? "" : "s")} {string.Join("; ", authorities.Select(a => a.Subject))}";
        // Not reaching a trusted root is what "does not chain" says; anything else the chain found is named as .NET names it.
        var other = statuses & ~(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain);
        var namesake = authorities?.Any(a => a.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData)) == true
            ? " (another CA of the same name issued it: was the CA made anew?)"
            : "";
        return $"does not chain to {trusted}{namesake}{(other == X509ChainStatusFlags.NoError ? "" : $" ({other})")}";
    }

    /// <summary>The host names and addresses a certificate is for (its subject alternative names), else its subject.</summary>
    private static IEnumerable<string> NamesOf(X509Certificate2 certificate)
    {
        if (certificate.Extensions[SubjectAlternativeName] is { } extension)
        {
            var names = new X509SubjectAlternativeNameExtension(extension.RawData);
            return names.EnumerateDnsNames().Concat(names.EnumerateIPAddresses().Select(address => address.ToString()));
        }

        return [certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false)];
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return exception;
    }
}
