using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The gateway reaching a device over Modbus/TCP Security (upstreams:NAME:tls): its client certificate's role is what
/// the device allows, and a device whose certificate another CA signed is not used.
/// </summary>
public sealed class GatewayTlsTests
{
    [Fact]
    public async Task A_gateway_reads_through_Modbus_TCP_Security_with_its_role_and_relays_the_device_refusing_a_write()
    {
        using var pki = new TestPki();
        await using var device = await McpdTestServer.StartAsync(pki.SecureModbusSettings());
        var (certificate, key) = WriteClient(pki, "gateway", "Viewer");
        await using var gateway = await McpdTestServer.StartAsync(Gateway(device, pki.AuthorityFile, certificate, key));
        using var client = await gateway.ConnectRawAsync();

        await client.SendHexAsync("000100000006010300000002");
        Assert.Equal("00010000000701030400640055", await client.ReceiveHexAsync(13));
        await client.SendHexAsync("000200000006010600000007");
        Assert.Equal("000200000003018601", await client.ReceiveHexAsync(9));
        await device.Logs.WaitForAsync("refused function 0x06 on unit 1 to gateway, role Viewer");
    }

    [Fact]
    public async Task A_device_whose_certificate_another_CA_signed_is_never_asked()
    {
        using var pki = new TestPki();
        using var stranger = new TestPki();
        await using var device = await McpdTestServer.StartAsync(pki.SecureModbusSettings());
        var (certificate, key) = WriteClient(pki, "gateway", "Viewer");
        await using var gateway = await McpdTestServer.StartAsync(Gateway(device, stranger.AuthorityFile, certificate, key));
        using var client = await gateway.ConnectRawAsync();

        await client.SendHexAsync("000100000006010300000002");

        Assert.Equal("00010000000301830B", await client.ReceiveHexAsync(9));
    }

    private static Dictionary<string, string?> Gateway(McpdTestServer device, string ca, string certificate, string key) => new()
    {
        ["upstreams:plc:address"] = $"127.0.0.1:{device.EndPointOf(ListenerNames.ModbusSecure).Port}",
        ["upstreams:plc:probe:interval"] = "00:00:00",
        ["upstreams:plc:tcp:readRetries"] = "0",
        ["upstreams:plc:tls:ca"] = ca,
        ["upstreams:plc:tls:certificate"] = certificate,
        ["upstreams:plc:tls:key"] = key,
        ["upstreams:plc:tls:serverName"] = "localhost",
        ["devices:0:unit"] = "1",
        ["devices:0:upstream"] = "plc",
    };

    private static (string Certificate, string Key) WriteClient(TestPki pki, string name, string role)
    {
        var certificate = Path.Combine(pki.Directory, $"{name}.pem");
        var key = Path.Combine(pki.Directory, $"{name}.key");
        DevelopmentCertificates.WritePem(pki.Client(name, role), certificate, key);
        return (certificate, key);
    }
}
