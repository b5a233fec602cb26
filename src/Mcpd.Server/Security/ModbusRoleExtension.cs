using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Server.Security;

/// <summary>
/// The role of a Modbus/TCP Security client (MB-TCP-Security, Modbus.org, "Role-Based Client Authorization",
/// requirements ): an X.509v3 extension of the client's certificate under Modbus.org's private
/// enterprise OID <see cref="Oid"/>, non-critical, whose value is the DER encoding of an ASN.1 UTF8String holding the
/// role's name (for example "Operator"). A certificate without the extension has no role.
/// </summary>
public static class ModbusRoleExtension
{
    /// <summary>The role extension's OID: Modbus.org's private enterprise number 50316, then 802.1.</summary>
    public const string Oid = "1.3.6.1.4.1.50316.802.1";

    /// <summary>The non-critical extension that gives a certificate <paramref name="role"/>.</summary>
    public static X509Extension Create(string role)
    {
        ArgumentNullException.ThrowIfNull(role);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.UTF8String, role);
        return new X509Extension(Oid, writer.Encode(), critical: false);
    }

    /// <summary>
    /// The role <paramref name="certificate"/> carries, or null when it has none: no role extension, more than one
    /// (RFC 5280 4.2 forbids a repeated extension, and which one counts would be a guess), or a value that is not
    /// exactly one well-formed DER UTF8String. The certificate comes from the network, so a malformed value is an
    /// answer (no role), never an exception.
    /// </summary>
    public static string? RoleOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var roles = certificate.Extensions.Where(extension => extension.Oid?.Value == Oid).ToList();
        if (roles.Count != 1)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(roles[0].RawData, AsnEncodingRules.DER);
            var role = reader.ReadCharacterString(UniversalTagNumber.UTF8String);
            reader.ThrowIfNotEmpty();
            return role;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }
}
