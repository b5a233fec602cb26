using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// A configuration held as a <see cref="ConfigurationTree"/>, so binding and checking a large register map costs in
/// proportion to its size. Replacing the tree fires the reload token.
/// </summary>
internal sealed class IndexedConfigurationProvider : ConfigurationProvider, IConfigurationLayer
{
    /// <summary>Holds <paramref name="tree"/>.</summary>
    public IndexedConfigurationProvider(ConfigurationTree tree) => Tree = tree;

    /// <summary>What the provider holds; <see cref="ConfigurationProvider.Data"/> stays empty (every reader is overridden).</summary>
    public ConfigurationTree Tree { get; private set; }

    /// <inheritdoc />
    public IEnumerable<KeyValuePair<string, string?>> Pairs => Tree.Values;

    /// <summary>Replaces every key with those of <paramref name="tree"/> and tells the configuration's listeners.</summary>
    public void Replace(ConfigurationTree tree)
    {
        Tree = tree;
        OnReload();
    }

    /// <inheritdoc />
    public override bool TryGet(string key, out string? value) => Tree.Values.TryGetValue(key, out value);

    /// <inheritdoc />
    public override void Set(string key, string? value) => Tree = ConfigurationTree.Of(Tree.Values.Append(new(key, value)));

    /// <inheritdoc />
    public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) =>
        Tree.Index.ChildKeys(earlierKeys, parentPath);
}
