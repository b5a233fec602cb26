using System.Text.Json;
using Mcpd.Client.Modbus;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Mcpd.Server.Tests.Agent;

/// <summary>
/// The acceptance session of the agent endpoint (issue 16), run by the official C# SDK client over each transport:
/// what is listed, the seed device's values, a refused write, bad arguments as tool errors, and (when the server
/// allows writes) a write that a Modbus client then reads and a subscription notification after a Modbus write.
/// </summary>
internal static class AgentSession
{
    public static readonly string[] Tools = ["list_devices", "describe_device", "read_registers", "write_register", "sample", "upstream_health", "call_method"];

    /// <summary>Lists everything and reads the seed device: temperature 100 °C, humidity 85 %.</summary>
    public static async Task ListsAndReadsTheSeedDeviceAsync(McpClient client)
    {
        var tools = await client.ListToolsAsync();
        var resources = await client.ListResourcesAsync();
        var prompts = await client.ListPromptsAsync();
        var read = await client.CallToolAsync("read_registers", new Dictionary<string, object?> { ["unit"] = 1, ["names"] = new[] { "temperature", "humidity" } });

        Assert.Equal("mcpd", client.ServerInfo?.Name);
        Assert.Subset(tools.Select(t => t.Name).ToHashSet(), Tools.ToHashSet());
        Assert.All(tools, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
        Assert.NotNull(tools.Single(t => t.Name == "read_registers").ProtocolTool.OutputSchema);
        Assert.Contains(resources, r => r.Uri == "mcpd://devices/1/map");
        Assert.Contains(resources, r => r.Uri == "mcpd://devices/1/values");
        Assert.Contains(resources, r => r.Uri == "mcpd://docs/modbus.md");
        Assert.Equal(["diagnose_device", "explain_register_map"], prompts.Select(p => p.Name).Order());
        Assert.False(read.IsError == true, Text(read));
        var readings = read.StructuredContent!.Value.GetProperty("readings").EnumerateArray().ToList();
        Assert.Equal(("temperature", 100.0, "°C"), (readings[0].GetProperty("name").GetString(), readings[0].GetProperty("value").GetDouble(), readings[0].GetProperty("unit").GetString()));
        Assert.Equal(("humidity", 85.0, "%"), (readings[1].GetProperty("name").GetString(), readings[1].GetProperty("value").GetDouble(), readings[1].GetProperty("unit").GetString()));
    }

    /// <summary>A write with the default configuration is a tool error that names agent.allowWrites.</summary>
    public static async Task WriteIsRefusedAsync(McpClient client)
    {
        var write = await client.CallToolAsync("write_register", new Dictionary<string, object?> { ["name"] = "temperature", ["value"] = 42 });

        Assert.True(write.IsError);
        Assert.Contains("agent.allowWrites", Text(write), StringComparison.Ordinal);
    }

    /// <summary>Arguments that do not fit are answered as tool errors the model can read, not protocol errors.</summary>
    public static async Task BadArgumentsAreToolErrorsAsync(McpClient client)
    {
        var wrongType = await client.CallToolAsync("read_registers", new Dictionary<string, object?> { ["unit"] = "boiler" });
        var noSuchTable = await client.CallToolAsync("read_registers", new Dictionary<string, object?> { ["table"] = "registers" });
        var noSuchName = await client.CallToolAsync("read_registers", new Dictionary<string, object?> { ["names"] = new[] { "pressure" } });
        var noSuchUnit = await client.CallToolAsync("describe_device", new Dictionary<string, object?> { ["unit"] = 99 });

        Assert.True(wrongType.IsError);
        Assert.True(noSuchTable.IsError);
        Assert.Contains("coils, discrete, holding or input", Text(noSuchTable), StringComparison.Ordinal);
        Assert.True(noSuchName.IsError);
        Assert.Contains("temperature, humidity", Text(noSuchName), StringComparison.Ordinal);
        Assert.True(noSuchUnit.IsError);
    }

    /// <summary>With writes allowed: a write by name in engineering units, read back by a Modbus client.</summary>
    public static async Task WriteIsReadByModbusAsync(McpClient client, ModbusTcpClient modbus)
    {
        var write = await client.CallToolAsync("write_register", new Dictionary<string, object?> { ["unit"] = 1, ["name"] = "temperature", ["value"] = 42 });

        Assert.False(write.IsError == true, Text(write));
        Assert.Equal(42.0, write.StructuredContent!.Value.GetProperty("readBack")[0].GetProperty("value").GetDouble());
        Assert.Equal([42, 85], await modbus.ReadHoldingRegistersAsync(1, 0, 2));
    }

    /// <summary>A subscription to the values resource is notified after a Modbus client writes the device.</summary>
    public static async Task SubscriptionIsNotifiedAfterModbusWriteAsync(McpClient client, ModbusTcpClient modbus)
    {
        const string Values = "mcpd://devices/1/values";
        var updated = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var subscription = await client.SubscribeToResourceAsync(Values, (notification, _) =>
        {
            updated.TrySetResult(notification.Uri);
            return ValueTask.CompletedTask;
        });

        await modbus.WriteSingleRegisterAsync(1, 1, 61);

        Assert.Equal(Values, await updated.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        var read = await client.ReadResourceAsync(Values);
        var json = JsonDocument.Parse(((TextResourceContents)read.Contents[0]).Text);
        Assert.Equal(61.0, json.RootElement.GetProperty("readings")[1].GetProperty("value").GetDouble());
    }

    public static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
}
