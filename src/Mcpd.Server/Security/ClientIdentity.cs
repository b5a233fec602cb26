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
        return new ClientIdentity(string.IsNullOrEmpty(commonName) ? certificate.Subject : commonName, ModbusRoleExtension.RoleOf(certificate));
    }

    /// <summary>A client that proved no identity, given <paramref name="role"/> by configuration (null: no role).</summary>
    public static ClientIdentity Anonymous(string? role) => new("anonymous", role);

    /// <summary>"alice (role Operator)", for log lines.</summary>
    public override string ToString() => $"{Name} (role {Role ?? "none"})";
}

/// <summary>The <see cref="ClientIdentity"/> of a connection that proved one (a TLS client certificate).</summary>
public interface IClientIdentityFeature
{
    /// <summary>Who the client is.</summary>
    ClientIdentity Identity { get; }
}
