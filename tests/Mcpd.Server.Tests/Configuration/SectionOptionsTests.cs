using Mcpd.Server.Configuration;
using Mcpd.Server.Hosting;
using Mcpd.Server.Modbus;
using Mcpd.Server.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>The options of one section, as the server's classes take them: bound, validated with the whole, reloaded.</summary>
public sealed class SectionOptionsTests
{
    [Fact]
    public void A_section_follows_the_reload_gate_and_routing_sees_a_new_rule_and_its_node_in_one_change()
    {
        var sources = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["modbus:maxConnections"] = "5" }).Build();
        using var gate = new ReloadGate(sources);
        using var services = new ServiceCollection().AddLogging().AddMcpdServer(gate.Configuration).BuildServiceProvider();
        var modbus = services.GetRequiredService<IOptionsMonitor<ModbusServerOptions>>();
        var router = services.GetRequiredService<IOptionsMonitor<RouterOptions>>();
        Assert.Equal(5, modbus.CurrentValue.MaxConnections);
        var routerChanges = new List<RouterOptions>();
        using var subscription = router.OnChange(routerChanges.Add);

        sources["modbus:maxConnections"] = "7";
        sources["nodes:b:address"] = "127.0.0.1:9000";
        sources["routing:rules:0:method"] = "plc.*";
        sources["routing:rules:0:target"] = "forward:b";
        Assert.Empty(gate.TryApply(sources));

        Assert.Equal(7, modbus.CurrentValue.MaxConnections);
        var change = Assert.Single(routerChanges);
        Assert.Equal("forward:b", Assert.Single(change.Routing.Rules).Target);
        Assert.Equal("127.0.0.1:9000", change.Nodes["B"].Address);
    }

    [Fact]
    public void A_section_of_an_invalid_configuration_fails_with_every_problem_of_the_whole()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["modbus:maxConnections"] = "0",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "missing",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddMcpdServer(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ModbusServerOptions>>().Value);

        Assert.Contains(error.Failures, f => f.StartsWith("modbus:maxConnections:", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("devices:0:upstream:", StringComparison.Ordinal));
    }
}
