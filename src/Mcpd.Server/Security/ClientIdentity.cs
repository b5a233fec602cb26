using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Server.Security;

/// <summary>
/// Who a client proved to be: the subject of its TLS client certificate (or the name of its admin token) and the
/// role that decides what it may do (<see cref="RolePolicy"/>); null role: none, so nothing is allowed.
/// </summary>
/// <param name="Name">The certificate's subject (its common name when it has one) or the token's name; never a secret.</param>
/// <param name="Role">The role from the certificate's Modbus/TCP Security role extension, or the token's.</param>
public sealed record ClientIdentity(string Name, string? Role)
{
    /// <summary>The identity a client certificate proves: its common name (else its whole subject) and its role extension.</summary>
    public static ClientIdentity Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return new ClientIdentity(string.IsNullOrEmpty(commonName) ? certificate.Subject : commonName, ModbusRoleExtension.RoleOf(certificate))
        {
            Subject = certificate.Subject,
            Issuer = certificate.Issuer,
        };
    }

    /// <summary>A client that proved no identity, given <paramref name="role"/> by configuration (null: no role).</summary>
    public static ClientIdentity Anonymous(string? role) => new("anonymous", role);

    /// <summary>
    /// The certificate's whole subject, a distinguished name ("CN=alice, O=Plant 3"); null for an identity that is no
    /// certificate, anonymous included. With <see cref="Issuer"/> it names the holder across renewals: a CA vouches for
    /// the subjects it issues, not for the names other CAs issue.
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>The distinguished name of the CA that issued the certificate; null for an identity that is no certificate.</summary>
    public string? Issuer { get; init; }

    /// <summary>"alice (role Operator)", for log lines.</summary>
    public override string ToString() => $"{Name} (role {Role ?? "none"})";
}

/// <summary>The <see cref="ClientIdentity"/> of a connection that proved one (a TLS client certificate).</summary>
public interface IClientIdentityFeature
{
    /// <summary>Who the client is.</summary>
    ClientIdentity Identity { get; }
}
