using System.Net;
using Mcpd.Testing;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace Mcpd.Server.Tests.Agent;

/// <summary>The agent endpoint (Model Context Protocol) at /mcp on the admin listener, with the official C# SDK client over Streamable HTTP.</summary>
public class AgentHttpTests
{
    [Fact]
    public async Task A_session_lists_tools_resources_and_prompts_reads_the_seed_device_and_is_refused_a_write()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);

        await AgentSession.ListsAndReadsTheSeedDeviceAsync(client);
        await AgentSession.WriteIsRefusedAsync(client);
        await AgentSession.BadArgumentsAreToolErrorsAsync(client);
    }

    [Fact]
    public async Task With_writes_allowed_a_write_is_audited_and_read_by_a_Modbus_client_and_a_subscription_sees_a_Modbus_write()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["agent:allowWrites"] = "true",
            ["agent:subscriptionInterval"] = "00:00:00.2",
        });
        await using var client = await ConnectAsync(server);
        await using var modbus = await server.ConnectClientAsync();

        await AgentSession.WriteIsReadByModbusAsync(client, modbus);
        await AgentSession.SubscriptionIsNotifiedAfterModbusWriteAsync(client, modbus);

        Assert.Contains(server.Logs.Lines, e => e.Category == "Mcpd.Audit" && e.EventId.Id == 410 && e.Message.StartsWith("agent:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_tokens_configured_the_endpoint_needs_one_and_a_reader_role_may_not_write()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["agent:allowWrites"] = "true",
            ["admin:tokens:0:name"] = "assistant",
            ["admin:tokens:0:sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData("reader-token"u8)),
            ["admin:tokens:0:role"] = "reader",
            ["security:roles:reader:0:access"] = "Read",
        });

        using var anonymous = new HttpClient();
        using var refused = await anonymous.PostAsync(new Uri(server.AdminUri, "mcp"), new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        await using var client = await ConnectAsync(server, token: "reader-token");
        var write = await client.CallToolAsync("write_register", new Dictionary<string, object?> { ["name"] = "temperature", ["value"] = 1 });
        var read = await client.CallToolAsync("read_registers", new Dictionary<string, object?> { ["names"] = new[] { "temperature" } });

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.True(write.IsError);
        Assert.Contains("no write access", AgentSession.Text(write), StringComparison.Ordinal);
        Assert.NotEqual(true, read.IsError);
    }

    [Fact]
    public async Task Tool_calls_past_the_rate_limit_are_tool_errors_until_the_window_ends()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["agent:maxToolCalls"] = "2" });
        await using var client = await ConnectAsync(server);

        var first = await client.CallToolAsync("list_devices");
        var second = await client.CallToolAsync("list_devices");
        var third = await client.CallToolAsync("list_devices");

        Assert.NotEqual(true, first.IsError);
        Assert.NotEqual(true, second.IsError);
        Assert.True(third.IsError);
        Assert.Contains("agent.maxToolCalls", AgentSession.Text(third), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Call_method_calls_sys_info_and_refuses_a_method_not_listed()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);

        var info = await client.CallToolAsync("call_method", new Dictionary<string, object?> { ["method"] = "sys.info" });
        var pdu = await client.CallToolAsync("call_method", new Dictionary<string, object?> { ["method"] = "modbus.pdu", ["body"] = "x" });

        Assert.NotEqual(true, info.IsError);
        Assert.Contains("\"name\":\"mcpd\"", info.StructuredContent!.Value.GetProperty("body").GetString(), StringComparison.Ordinal);
        Assert.True(pdu.IsError);
    }

    private static async Task<McpClient> ConnectAsync(McpdTestServer server, string? token = null)
    {
        var options = new HttpClientTransportOptions { Endpoint = new Uri(server.AdminUri, "mcp"), TransportMode = HttpTransportMode.StreamableHttp };
        if (token is not null)
        {
            options.AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" };
        }

        return await McpClient.CreateAsync(new HttpClientTransport(options, LoggerFactory.Create(_ => { })));
    }
}
