using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Server.Security;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// The Modbus/TCP Security role extension (MB-TCP-Security R-21, R-22): written as a non-critical DER UTF8String
/// under OID 1.3.6.1.4.1.50316.802.1, read back, read as no role when absent or malformed (it comes from the
/// network), and checked by openssl both ways: openssl reads the role mcpd writes, mcpd reads the role openssl writes.
/// </summary>
public sealed class ModbusRoleExtensionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-role-").FullName;

    private readonly X509Certificate2 _authority = DevelopmentCertificates.CreateAuthority("role test CA", TimeSpan.FromDays(1));

    [Fact]
    public void The_extension_is_a_non_critical_DER_UTF8String_under_the_Modbus_OID()
    {
        var extension = ModbusRoleExtension.Create("Operator");

        Assert.Equal("1.3.6.1.4.1.50316.802.1", extension.Oid?.Value);
        Assert.False(extension.Critical);
        Assert.Equal([0x0C, 0x08, .. "Operator"u8], extension.RawData); // tag 12 (UTF8String), length 8
    }

    [Theory]
    [InlineData("Operator")]
    [InlineData("Opérateur de l'équipe 🔧")]
    [InlineData("")]
    public void A_role_comes_back_from_the_certificate_that_carries_it(string role)
    {
        using var client = DevelopmentCertificates.CreateClient(_authority, "alice", role, TimeSpan.FromDays(1));
        using var received = X509CertificateLoader.LoadCertificate(client.RawData);

        Assert.Equal(role, ModbusRoleExtension.RoleOf(received));
    }

    [Fact]
    public void A_certificate_without_the_extension_has_no_role()
    {
        using var client = DevelopmentCertificates.CreateClient(_authority, "bob", role: null, TimeSpan.FromDays(1));

        Assert.Null(ModbusRoleExtension.RoleOf(client));
        Assert.Null(ModbusRoleExtension.RoleOf(_authority));
    }

    [Theory]
    [InlineData("04084F70657261746F72")] // an OCTET STRING holding "Operator"
    [InlineData("13084F70657261746F72")] // a PrintableString
    [InlineData("0C084F7065")] // a UTF8String of 8 bytes cut after 3
    [InlineData("0C084F70657261746F7200")] // a byte after the string
    [InlineData("0C81084F70657261746F72")] // the length in long form, which DER forbids for 8
    [InlineData("0C02C328")] // bytes that are not UTF-8
    [InlineData("0C")] // a tag alone
    [InlineData("3000")] // an empty SEQUENCE
    [InlineData("")]
    public void A_malformed_role_value_is_no_role_and_no_exception(string valueHex)
    {
        using var certificate = SelfSigned(new X509Extension(ModbusRoleExtension.Oid, Convert.FromHexString(valueHex), critical: false));

        Assert.Null(ModbusRoleExtension.RoleOf(certificate));
    }

    [Fact]
    public void Two_role_extensions_are_no_role()
    {
        // CertificateRequest refuses a repeated extension, so the second role is made under OID ...802.2 and its last
        // arc patched to 1 in the DER (the signature no longer matches; reading the extensions does not check it).
        var other = ModbusRoleExtension.Oid[..^1] + "2";
        using var certificate = SelfSigned(ModbusRoleExtension.Create("Operator"), new X509Extension(other, ModbusRoleExtension.Create("Engineer").RawData, critical: false));
        var der = certificate.RawData;
        der[IndexOfLastArc(der, other)] = 1;

        using var patched = X509CertificateLoader.LoadCertificate(der);

        Assert.Equal(2, patched.Extensions.Count(e => e.Oid?.Value == ModbusRoleExtension.Oid));
        Assert.Null(ModbusRoleExtension.RoleOf(patched));
    }

    [Fact]
    public async Task Openssl_shows_the_role_mcpd_writes_as_a_UTF8String_under_the_Modbus_OID()
    {
        using var client = DevelopmentCertificates.CreateClient(_authority, "alice", "Operator", TimeSpan.FromDays(1));
        var pem = Path.Combine(_directory, "alice.pem");
        DevelopmentCertificates.WritePem(client, pem, Path.Combine(_directory, "alice.key"));

        var text = await OpenSsl.RunAsync("x509", "-in", pem, "-noout", "-text");
        var structure = await OpenSsl.RunAsync("asn1parse", "-in", pem);

        Assert.True(text.Succeeded, text.ToString());
        Assert.Matches(@"1\.3\.6\.1\.4\.1\.50316\.802\.1:\s*\n\s*\.\.Operator", text.StandardOutput);
        Assert.True(structure.Succeeded, structure.ToString());
        Assert.Matches(@"OBJECT\s+:1\.3\.6\.1\.4\.1\.50316\.802\.1\s*\n.*OCTET STRING\s+\[HEX DUMP\]:0C084F70657261746F72\s", structure.StandardOutput);
    }

    [Fact]
    public async Task The_role_openssl_writes_from_an_extension_config_is_read()
    {
        var pem = Path.Combine(_directory, "openssl.pem");

        var made = await OpenSsl.RunAsync(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", Path.Combine(_directory, "openssl.key"),
            "-out", pem, "-subj", "/CN=alice", "-days", "1", "-addext", "1.3.6.1.4.1.50316.802.1 = ASN1:UTF8String:Operator");

        Assert.True(made.Succeeded, made.ToString());
        using var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(pem));
        Assert.Equal("Operator", ModbusRoleExtension.RoleOf(certificate));
    }

    public void Dispose()
    {
        _authority.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static X509Certificate2 SelfSigned(params X509Extension[] extensions)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mallory", key, HashAlgorithmName.SHA256);
        foreach (var extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>Where the byte of <paramref name="oid"/>'s last arc (below 128) sits in <paramref name="der"/>.</summary>
    private static int IndexOfLastArc(byte[] der, string oid)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteObjectIdentifier(oid);
        var encoded = writer.Encode();
        return der.AsSpan().IndexOf(encoded) + encoded.Length - 1;
    }
}
