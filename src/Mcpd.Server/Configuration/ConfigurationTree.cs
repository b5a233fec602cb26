using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// A whole configuration as flat keys with their sections indexed: what <see cref="CheckedBinder"/> walks and the
/// <see cref="ReloadGate"/> holds. Reading it costs no more than its size, where walking an
/// <see cref="IConfiguration"/> costs a few allocations, a sort and a lookup through every layer per section.
/// </summary>
internal sealed class ConfigurationTree
{
    private readonly Dictionary<string, string?> _values;

    private readonly Lazy<(McpdOptions Options, IReadOnlyList<string> Problems)> _bound;

    private ConfigurationTree(Dictionary<string, string?> values)
    {
        _values = values;
        Index = new ConfigurationKeyIndex(values);
        _bound = new(() =>
        {
            var options = new McpdOptions();
            return (options, CheckedBinder.Bind(this, options, reportUnknown: true, McpdSections.Logging));
        });
    }

    /// <summary>
    /// The configuration bound to <see cref="McpdOptions"/>, once per tree, with the keys that did not bind (left at
    /// their defaults). Every options type read from the root takes its sections from this one binding, so a reload
    /// binds a large register map once, and they all see the same version.
    /// </summary>
    public (McpdOptions Options, IReadOnlyList<string> Problems) Bound => _bound.Value;

    /// <summary>The sections of <see cref="Values"/>.</summary>
    public ConfigurationKeyIndex Index { get; }

    /// <summary>Every key that has a value.</summary>
    public IReadOnlyDictionary<string, string?> Values => _values;

    /// <summary>A tree of <paramref name="pairs"/>; a later pair with the same key replaces an earlier one, keys without a value are left out.</summary>
    public static ConfigurationTree Of(IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Overlay(values, pairs);
        return new ConfigurationTree(values);
    }

    /// <summary>Sets each key of <paramref name="pairs"/> that has a value, over what <paramref name="values"/> holds.</summary>
    private static void Overlay(Dictionary<string, string?> values, IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        foreach (var (key, value) in pairs)
        {
            if (value is not null)
            {
                values[key] = value;
            }
        }
    }

    /// <summary>
    /// The tree of <paramref name="configuration"/>: the one a <see cref="IConfigurationLayer"/> root already holds,
    /// else its layers merged (the last that sets a key wins), with paths relative to a section.
    /// </summary>
    public static ConfigurationTree Of(IConfiguration configuration) => configuration switch
    {
        IConfigurationRoot { Providers: var providers } when providers.Count() == 1 && providers.First() is IndexedConfigurationProvider held => held.Tree,
        IConfigurationRoot root => Merge(root.Providers),
        _ => Of(configuration.AsEnumerable(makePathsRelative: true)),
    };

    /// <summary>
    /// The layers merged, the last that sets a key winning, keys without a value left out. A first layer that hands
    /// over a dictionary of its own (the configuration file, nearly every key of a large map) is copied whole, which
    /// costs a copy of its entries instead of hashing every key again.
    /// </summary>
    private static ConfigurationTree Merge(IEnumerable<IConfigurationProvider> providers)
    {
        Dictionary<string, string?>? values = null;
        foreach (var provider in providers)
        {
            if (values is null && provider is IConfigurationLayer { Pairs: Dictionary<string, string?> whole } && whole.Comparer == StringComparer.OrdinalIgnoreCase)
            {
                values = new Dictionary<string, string?>(whole, StringComparer.OrdinalIgnoreCase);
                foreach (var (key, value) in whole)
                {
                    if (value is null)
                    {
                        values.Remove(key);
                    }
                }

                continue;
            }

            values ??= new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            Overlay(values, PairsOf(provider));
        }

        return new ConfigurationTree(values ?? new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>The value at <paramref name="path"/>, or null.</summary>
    public string? ValueAt(string path) => _values.GetValueOrDefault(path);

    /// <summary>The child keys of <paramref name="path"/> ("" for the root), sorted as configuration keys are.</summary>
    public IEnumerable<string> ChildrenOf(string path) => Index.ChildKeys([], path);

    /// <summary>The keys of one layer: read whole from a layer that holds them, else walked section by section (fine for the small ones: environment, command line).</summary>
    private static IEnumerable<KeyValuePair<string, string?>> PairsOf(IConfigurationProvider provider) =>
        provider is IConfigurationLayer layer ? layer.Pairs : Walk(provider, null);

    private static IEnumerable<KeyValuePair<string, string?>> Walk(IConfigurationProvider provider, string? path)
    {
        foreach (var child in provider.GetChildKeys([], path).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var childPath = path is null ? child : ConfigurationPath.Combine(path, child);
            if (provider.TryGet(childPath, out var value))
            {
                yield return new(childPath, value);
            }

            foreach (var pair in Walk(provider, childPath))
            {
                yield return pair;
            }
        }
    }
}
