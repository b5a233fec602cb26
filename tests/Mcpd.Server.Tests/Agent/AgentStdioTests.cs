using Mcpd.Testing;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;

namespace Mcpd.Server.Tests.Agent;

/// <summary>
/// <c>mcpd agent</c> as the child process an assistant starts, driven by the official C# SDK client over stdio:
/// relaying to a running mcpd (<c>--server</c>), and straight to a Modbus TCP device (<c>--device</c> with a map).
/// </summary>
public sealed class AgentStdioTests : IDisposable
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-agent-").FullName;

    [Fact]
    public async Task Relayed_to_a_server_a_session_lists_reads_the_seed_device_is_refused_a_write_and_gets_tool_errors()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await StartAgentAsync("--server", server.AdminUri.ToString());

        await AgentSession.ListsAndReadsTheSeedDeviceAsync(client);
        await AgentSession.WriteIsRefusedAsync(client);
        await AgentSession.BadArgumentsAreToolErrorsAsync(client);
    }

    [Fact]
    public async Task Relayed_to_a_server_that_allows_writes_a_write_is_read_by_Modbus_and_a_subscription_sees_a_Modbus_write()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["agent:allowWrites"] = "true",
            ["agent:subscriptionInterval"] = "200ms",
        });
        await using var modbus = await server.ConnectClientAsync();
        await using var client = await StartAgentAsync("--server", server.AdminUri.ToString());

        await AgentSession.WriteIsReadByModbusAsync(client, modbus);
        await AgentSession.SubscriptionIsNotifiedAfterModbusWriteAsync(client, modbus);
    }

    [Fact]
    public async Task Straight_to_a_Modbus_device_with_a_map_a_session_reads_writes_and_subscribes()
    {
        await using var device = await McpdTestServer.StartAsync();
        await using var modbus = await device.ConnectClientAsync();
        var map = Path.Combine(_directory, "boiler.yaml");
        await File.WriteAllTextAsync(map, """
            agent:
              allowWrites: true
              subscriptionInterval: 200ms
            devices:
              - unit: 1
                name: sensor
                registers:
                  - { table: holding, address: 0, name: temperature, unit: "°C", description: temperature sensor }
                  - { table: holding, address: 1, name: humidity, unit: "%", description: humidity percent }
            """);
        await using var client = await StartAgentAsync("--device", device.ModbusEndPoint.ToString(), "--map", map);

        await AgentSession.ListsAndReadsTheSeedDeviceAsync(client);
        await AgentSession.BadArgumentsAreToolErrorsAsync(client);
        await AgentSession.WriteIsReadByModbusAsync(client, modbus);
        await AgentSession.SubscriptionIsNotifiedAfterModbusWriteAsync(client, modbus);
        var health = await client.CallToolAsync("upstream_health");
        Assert.True(health.IsError);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static Task<McpClient> StartAgentAsync(params string[] arguments) =>
        McpClient.CreateAsync(
            new StdioClientTransport(new StdioClientTransportOptions { Command = "dotnet", Arguments = [McpdDll, "agent", .. arguments], Name = "mcpd agent" }, LoggerFactory.Create(_ => { })),
            loggerFactory: LoggerFactory.Create(_ => { }));
}
