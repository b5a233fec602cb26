using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// A configuration held as a <see cref="ConfigurationTree"/>, so binding and checking a large register map costs in
/// proportion to its size. Replacing the tree fires the reload token.
/// </summary>
internal sealed class TreeConfigurationProvider : ConfigurationProvider, IConfigurationLayer
{
    /// <summary>Holds <paramref name="tree"/>.</summary>
    public TreeConfigurationProvider(ConfigurationTree tree) => Tree = tree;

    /// <summary>What the provider holds; <see cref="ConfigurationProvider.Data"/> stays empty (every reader is overridden).</summary>
    public ConfigurationTree Tree { get; private set; }

    /// <summary>Replaces every key with those of <paramref name="tree"/> and tells the configuration's listeners.</summary>
    public void Replace(ConfigurationTree tree)
    {
        Tree = tree;
        OnReload();
    }

    /// <inheritdoc />
    public override bool TryGet(string key, out string? value) => (value = Tree.ValueAt(key)) is not null;

    /// <inheritdoc />
    public override void Set(string key, string? value) =>
        Tree = value is null ? ConfigurationTree.Of(Tree.Pairs.Where(pair => !string.Equals(pair.Key, key, StringComparison.OrdinalIgnoreCase))) : Tree.With(key, value);

    /// <inheritdoc />
    public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) =>
        Tree.ChildKeys(earlierKeys, parentPath);
}
