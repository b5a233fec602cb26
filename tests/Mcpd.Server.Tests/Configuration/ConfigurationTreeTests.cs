using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>Configuration trees: merging layers (the last layer that sets a key wins, keys without a value are left out), copy-on-write, key order.</summary>
public class ConfigurationTreeTests
{
    [Fact]
    public void A_file_layer_taken_as_it_is_is_overridden_by_the_later_layers_and_loses_its_keys_without_a_value()
    {
        var file = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["modbus:port"] = "502",
            ["modbus:bind"] = "*",
            ["mcp:crcPort"] = null,
            ["devices:0:unit"] = "1",
        };
        var fileLayer = new Layer(ConfigurationTree.Of(file));
        var root = new ConfigurationRoot([fileLayer, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationProvider(new() { InitialData = [new("MODBUS:PORT", "5020")] })]);

        var tree = ConfigurationTree.Of(root);

        Assert.Equal("5020", tree.ValueAt("modbus:port"));
        Assert.Equal("*", tree.ValueAt("modbus:bind"));
        Assert.Null(tree.ValueAt("mcp:crcPort"));
        Assert.Equal(["devices", "modbus"], tree.ChildrenOf(""));
        Assert.Equal(["bind", "port"], tree.ChildrenOf("modbus"));
        Assert.Equal("502", fileLayer.Tree.ValueAt("modbus:port"));
    }

    [Fact]
    public void Setting_a_key_copies_only_the_sections_on_its_way()
    {
        var tree = ConfigurationTree.Of(Enumerable.Range(0, 100).Select(i => new KeyValuePair<string, string?>($"devices:0:registers:{i}:value", $"{i}")));

        var changed = tree.With("devices:0:registers:7:value", "seventy");

        Assert.Equal("seventy", changed.ValueAt("devices:0:registers:7:value"));
        Assert.Equal("7", tree.ValueAt("devices:0:registers:7:value"));
        var registers = changed.Root.FindPath("devices:0:registers")!.Children;
        Assert.Same(tree.Root.FindPath("devices:0:registers:8"), registers[8]);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"{i}"), registers.Select(register => register.Key));
    }

    [Fact]
    public void Keys_are_in_configuration_key_order_numbers_first_and_found_ignoring_case()
    {
        var tree = ConfigurationTree.Of([new("b", "1"), new("10", "x"), new("A", "2"), new("2", "y"), new("list:1", "one"), new("list:0", "zero")]);

        Assert.Equal(["2", "10", "A", "b"], tree.ChildrenOf("").Take(4));
        Assert.Equal(["0", "1"], tree.ChildrenOf("LIST"));
        Assert.Equal("2", tree.ValueAt("a"));
    }

    [Fact]
    public void Options_copied_from_a_tree_are_validated_by_the_check_the_tree_already_made()
    {
        var tree = ConfigurationTree.Of([new("devices:0:unit", "1"), new("devices:0:registers:0:address", "99999")]);
        var copy = new McpdOptions();

        Assert.Empty(tree.CopyBound(copy));

        Assert.Same(tree.MeaningProblems, ConfigurationTree.MeaningProblemsOf(copy));
        Assert.Contains(tree.MeaningProblems, problem => problem.StartsWith("devices:0:registers:0:address", StringComparison.Ordinal));
        Assert.Equal(tree.MeaningProblems, new McpdOptionsValidator().Validate(null, copy).Failures);
        Assert.Null(ConfigurationTree.MeaningProblemsOf(new McpdOptions()));
    }

    /// <summary>A layer that holds a tree, as the configuration file's does.</summary>
    private sealed class Layer(ConfigurationTree tree) : ConfigurationProvider, IConfigurationLayer
    {
        public ConfigurationTree Tree => tree;
    }
}
