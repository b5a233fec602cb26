using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Mcpd.Server.Security;

// Placeholder until the cert-command branch lands with the full version of this class.
public static class ModbusRoleExtension
{
    public const string Oid = "1.3.6.1.4.1.50316.802.1";

    public static string? RoleOf(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions[Oid];
        if (extension is null)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var role = reader.ReadCharacterString(UniversalTagNumber.UTF8String);
            return reader.HasData ? null : role;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }
}
