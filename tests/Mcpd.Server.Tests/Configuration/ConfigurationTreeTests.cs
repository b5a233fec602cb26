using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>Merging configuration layers into one tree: the last layer that sets a key wins, keys without a value are left out.</summary>
public class ConfigurationTreeTests
{
    [Fact]
    public void A_file_layer_copied_whole_is_overridden_by_the_later_layers_and_loses_its_keys_without_a_value()
    {
        var file = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["modbus:port"] = "502",
            ["modbus:bind"] = "*",
            ["mcp:crcPort"] = null,
            ["devices:0:unit"] = "1",
        };
        var root = new ConfigurationRoot([new Layer(file), new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationProvider(new() { InitialData = [new("MODBUS:PORT", "5020")] })]);

        var tree = ConfigurationTree.Of(root);

        Assert.Equal("5020", tree.ValueAt("modbus:port"));
        Assert.Equal("*", tree.ValueAt("modbus:bind"));
        Assert.False(tree.Values.ContainsKey("mcp:crcPort"));
        Assert.Equal(["bind", "port"], tree.ChildrenOf("modbus"));
        Assert.Equal("502", file["modbus:port"]);
    }

    /// <summary>A layer that hands over its own dictionary, as the configuration file's does.</summary>
    private sealed class Layer(Dictionary<string, string?> keys) : ConfigurationProvider, IConfigurationLayer
    {
        public IEnumerable<KeyValuePair<string, string?>> Pairs => keys;
    }
}
