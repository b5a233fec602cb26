using Mcpd.Protocols.Mcp;
using Mcpd.Server.Tests.Mcp;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// Clients of the plain listeners prove no identity: without <c>anonymousRole</c> they may do everything, with it
/// their requests are decided by that role, as a certificate's are.
/// </summary>
public sealed class AnonymousRoleTests
{
    private static readonly Dictionary<string, string?> ReadOnlyPlainListeners = new()
    {
        ["modbus:anonymousRole"] = "Viewer",
        ["mcp:anonymousRole"] = "Viewer",
        ["security:roles:Viewer:0:access"] = "read",
        ["security:roles:Viewer:1:methods:0"] = "sys.echo",
        ["security:roles:Viewer:1:methods:1"] = "modbus.pdu",
    };

    [Fact]
    public async Task A_plain_Modbus_listener_with_a_read_only_anonymous_role_answers_reads_and_refuses_writes_with_exception_01()
    {
        await using var server = await McpdTestServer.StartAsync(ReadOnlyPlainListeners);
        using var client = await server.ConnectRawAsync();

        await client.SendHexAsync("000100000006010300000001");
        Assert.StartsWith("000100000005010302", await client.ReceiveHexAsync(11), StringComparison.Ordinal);
        await client.SendHexAsync("000200000006010600000007");
        Assert.Equal("000200000003018601", await client.ReceiveHexAsync(9));
        await server.Logs.WaitForAsync("refused function 0x06 on unit 1 to anonymous, role Viewer");
    }

    [Fact]
    public async Task An_anonymous_write_a_role_allows_is_answered_and_not_audited()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["modbus:anonymousRole"] = "Writer",
            ["security:roles:Writer:0:access"] = "write",
        });
        using var client = await server.ConnectRawAsync();

        await client.SendHexAsync("000100000006010600000007");

        Assert.Equal("000100000006010600000007", await client.ReceiveHexAsync(12));
        Assert.DoesNotContain(server.Logs.Lines, line => line.Category == Mcpd.Server.Security.SecurityLog.AuditCategory);
    }

    [Fact]
    public async Task Without_an_anonymous_role_a_plain_client_may_write()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var client = await server.ConnectRawAsync();

        await client.SendHexAsync("000100000006010600000007");

        Assert.Equal("000100000006010600000007", await client.ReceiveHexAsync(12));
    }

    [Fact]
    public async Task A_plain_MCP_client_with_an_anonymous_role_calls_only_its_methods()
    {
        await using var server = await McpdTestServer.StartAsync(ReadOnlyPlainListeners);
        using var client = await server.ConnectRawAsync(server.McpEndPoint);

        await McpServerTests.SendAsync(client, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", [], "hi"u8));
        await McpServerTests.ReadResponseAsync(client, 1, McpStatus.Ok);
        await McpServerTests.SendAsync(client, output => McpPayload.WriteRequest(output, 2, McpRequestFlags.None, "sys.info", [], []));
        await McpServerTests.ReadResponseAsync(client, 2, McpStatus.Forbidden);
        await McpServerTests.SendAsync(client, output => McpPayload.WriteRequest(output, 3, McpRequestFlags.None, "modbus.pdu", [new("unit", "1")], Convert.FromHexString("0600000007")));
        Assert.Equal("8601", Convert.ToHexString(await McpServerTests.ReadResponseAsync(client, 3, McpStatus.Ok)));
    }

    [Fact]
    public void An_anonymous_role_must_be_a_configured_role()
    {
        var problems = Mcpd.Server.Configuration.McpdOptionsValidator.Check(new Mcpd.Server.Configuration.McpdOptions { Modbus = { AnonymousRole = "Viewer" } });

        Assert.Contains("modbus:anonymousRole: 'Viewer' is not a role of security:roles (none is configured)", problems);
    }
}
