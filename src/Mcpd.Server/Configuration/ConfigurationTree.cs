using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// A whole configuration as a tree of <see cref="ConfigurationNode"/>s: what <see cref="CheckedBinder"/> walks and the
/// <see cref="ReloadGate"/> holds. Reading it costs no more than its size, where walking an
/// <see cref="IConfiguration"/> costs a few allocations, a sort and a lookup through every layer per section.
/// </summary>
internal sealed class ConfigurationTree
{
    /// <summary>The options types whose settings were copied from a tree's binding (<see cref="CopyBound"/>), with that tree.</summary>
    private static readonly ConditionalWeakTable<object, ConfigurationTree> CopiedFrom = [];

    private readonly Lazy<(McpdOptions Options, IReadOnlyList<string> Problems)> _bound;
    private readonly Lazy<IReadOnlyList<string>> _meaningProblems;

    private ConfigurationTree(ConfigurationNode root)
    {
        Root = root;
        _bound = new(() =>
        {
            var options = new McpdOptions();
            return (options, CheckedBinder.Bind(this, options, reportUnknown: true, McpdSections.Logging));
        });
        _meaningProblems = new(() => McpdOptionsValidator.Check(Bound.Options));
    }

    /// <summary>
    /// What <see cref="McpdOptionsValidator.Check"/> says of <see cref="Bound"/>, once per tree: the reload gate checks a
    /// configuration and the options monitors validate it again when it applies, which for a map of 65,536 registers
    /// cost a second walk of the map and 19 MB per reload.
    /// </summary>
    public IReadOnlyList<string> MeaningProblems => _meaningProblems.Value;

    /// <summary>
    /// Sets the settings of <paramref name="options"/> (an options type read from the root) to those of
    /// <see cref="Bound"/>, sharing its sections, and remembers that they came from this tree
    /// (<see cref="MeaningProblemsOf"/>); returns the keys that did not bind.
    /// </summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    public IReadOnlyList<string> CopyBound(object options)
    {
        var (root, problems) = Bound;
        CheckedBinder.CopySettings(root, options);
        CopiedFrom.AddOrUpdate(options, this);
        return problems;
    }

    /// <summary>
    /// <see cref="MeaningProblems"/> of the tree <paramref name="options"/> were copied from (<see cref="CopyBound"/>:
    /// the same sections, never changed once bound), or null when they were not.
    /// </summary>
    public static IReadOnlyList<string>? MeaningProblemsOf(McpdOptions options) =>
        CopiedFrom.TryGetValue(options, out var tree) ? tree.MeaningProblems : null;

    /// <summary>A tree with no keys.</summary>
    public static ConfigurationTree Empty { get; } = new(new ConfigurationNode(""));

    /// <summary>The root section (key "").</summary>
    public ConfigurationNode Root { get; }

    /// <summary>
    /// The configuration bound to <see cref="McpdOptions"/>, once per tree, with the keys that did not bind (left at
    /// their defaults). Every options type read from the root takes its sections from this one binding, so a reload
    /// binds a large register map once, and they all see the same version.
    /// </summary>
    public (McpdOptions Options, IReadOnlyList<string> Problems) Bound => _bound.Value;

    /// <summary>The tree under <paramref name="root"/>, built by its reader and sealed here (see <see cref="ConfigurationNode.Seal"/>).</summary>
    public static ConfigurationTree Of(ConfigurationNode root)
    {
        root.Seal();
        return new ConfigurationTree(root);
    }

    /// <summary>A tree of <paramref name="pairs"/>; a later pair with the same key replaces an earlier one, keys without a value are left out.</summary>
    public static ConfigurationTree Of(IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        var root = new ConfigurationNode("");
        foreach (var (key, value) in pairs)
        {
            if (value is not null)
            {
                root.Set(key, value);
            }
        }

        return Of(root);
    }

    /// <summary>
    /// The tree of <paramref name="configuration"/>: the one a <see cref="IConfigurationLayer"/> root already holds,
    /// else its layers merged (the last that sets a key wins), with paths relative to a section.
    /// </summary>
    public static ConfigurationTree Of(IConfiguration configuration) => configuration switch
    {
        IConfigurationRoot { Providers: var providers } when providers.Count() == 1 && providers.First() is IConfigurationLayer held => held.Tree,
        IConfigurationRoot root => Merge(root.Providers),
        _ => Of(configuration.AsEnumerable(makePathsRelative: true)),
    };

    /// <summary>This tree with <paramref name="value"/> at <paramref name="path"/>, sharing every section it does not change.</summary>
    public ConfigurationTree With(string path, string value) => new(Root.With(path, value));

    /// <summary>
    /// The layers merged, the last that sets a key winning. The first layer that holds a tree (the configuration
    /// file, nearly every key of a large map) is taken as it is; each key of a later layer (environment, command
    /// line: a few keys) copies only the sections on its way.
    /// </summary>
    private static ConfigurationTree Merge(IEnumerable<IConfigurationProvider> providers)
    {
        ConfigurationNode? root = null;
        foreach (var provider in providers)
        {
            if (root is null && provider is IConfigurationLayer layer)
            {
                root = layer.Tree.Root;
                continue;
            }

            foreach (var (key, value) in PairsOf(provider))
            {
                if (value is not null)
                {
                    root = (root ?? Empty.Root).With(key, value);
                }
            }
        }

        return root is null ? Empty : new ConfigurationTree(root);
    }

    /// <summary>The value at <paramref name="path"/>, or null.</summary>
    public string? ValueAt(string path) => Root.FindPath(path)?.Value;

    /// <summary>The child keys of <paramref name="path"/> ("" for the root), sorted as configuration keys are.</summary>
    public IEnumerable<string> ChildrenOf(string path) => Root.FindPath(path) is { } node ? node.Children.Select(child => child.Key) : [];

    /// <summary>Every key that has a value, with its value.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Pairs => Root.Pairs();

    /// <summary>
    /// What <see cref="IConfigurationProvider.GetChildKeys"/> answers for a provider holding this tree: the child keys
    /// of <paramref name="parentPath"/> with <paramref name="earlierKeys"/> (those of the providers before), sorted.
    /// </summary>
    public IEnumerable<string> ChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
    {
        var own = ChildrenOf(parentPath ?? "");
        if (earlierKeys.TryGetNonEnumeratedCount(out var earlier) && earlier == 0)
        {
            return own;
        }

        var keys = new List<string>(earlierKeys);
        keys.AddRange(own);
        keys.Sort(ConfigurationKeyComparer.Instance);
        return keys;
    }

    /// <summary>The keys of one layer: read whole from a layer that holds them, else walked section by section (fine for the small ones: environment, command line).</summary>
    private static IEnumerable<KeyValuePair<string, string?>> PairsOf(IConfigurationProvider provider) =>
        provider is IConfigurationLayer layer ? layer.Tree.Pairs : Walk(provider, null);

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
