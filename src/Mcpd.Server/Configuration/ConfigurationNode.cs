using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// One section of a configuration: its key (the last segment of its path), its value (null: none) and its children.
/// A register map of N entries is N sections of a few keys; held as nodes it costs one small object per key and no
/// path strings, where flat keys (<c>devices:0:registers:12345:value</c>) cost a string per key plus an index of
/// sections built over them, and a reload of 65,536 registers spent half its time in the garbage collector copying them.
/// Invariants once <see cref="Seal"/>ed: keys are unique among siblings ignoring case; children are in configuration key
/// order (numbers first, as numbers, then the rest ignoring case); every node has a value or a child. A sealed node is
/// never changed again: <see cref="With"/> copies the nodes on the way to the key it sets and shares the rest.
/// </summary>
internal sealed class ConfigurationNode
{
    /// <summary>Past this many children, finding one by key goes through a dictionary instead of a scan.</summary>
    private const int ScannedChildren = 16;

    private List<ConfigurationNode>? _children;
    private Dictionary<string, ConfigurationNode>? _byKey;

    /// <summary>A node <paramref name="key"/> with <paramref name="value"/> and no children yet.</summary>
    public ConfigurationNode(string key, string? value = null)
    {
        Key = key;
        Value = value;
    }

    /// <summary>The last segment of the node's path ("" for the root).</summary>
    public string Key { get; }

    /// <summary>The node's own value; null when it has none (a section).</summary>
    public string? Value { get; private set; }

    /// <summary>The children, in configuration key order once sealed.</summary>
    public IReadOnlyList<ConfigurationNode> Children => _children ?? (IReadOnlyList<ConfigurationNode>)[];

    /// <summary>True when the node has at least one child.</summary>
    public bool HasChildren => _children is { Count: > 0 };

    /// <summary>The child <paramref name="key"/>, or null.</summary>
    public ConfigurationNode? Find(ReadOnlySpan<char> key)
    {
        if (_children is null)
        {
            return null;
        }

        // A list's entries are keyed 0..N-1 in order: an index finds its entry at its own position.
        if (int.TryParse(key, out var index) && (uint)index < (uint)_children.Count
            && key.Equals(_children[index].Key, StringComparison.OrdinalIgnoreCase))
        {
            return _children[index];
        }

        if (_children.Count <= ScannedChildren)
        {
            foreach (var child in _children)
            {
                if (key.Equals(child.Key, StringComparison.OrdinalIgnoreCase))
                {
                    return child;
                }
            }

            return null;
        }

        _byKey ??= _children.ToDictionary(child => child.Key, StringComparer.OrdinalIgnoreCase);
        return _byKey.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key, out var found) ? found : null;
    }

    /// <summary>The entry <paramref name="index"/> of a list (the child at that position, keyed by that number), or null.</summary>
    public ConfigurationNode? ChildAt(int index)
    {
        Span<char> digits = stackalloc char[11];
        return _children is not null && (uint)index < (uint)_children.Count
            && index.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture)
            && digits[..length].SequenceEqual(_children[index].Key)
            ? _children[index]
            : null;
    }

    /// <summary>The node at <paramref name="path"/> below this one (segments separated by ':'; "" is this node), or null.</summary>
    public ConfigurationNode? FindPath(ReadOnlySpan<char> path)
    {
        var node = this;
        while (path.Length > 0 && node is not null)
        {
            var separator = path.IndexOf(ConfigurationPath.KeyDelimiter);
            node = node.Find(separator < 0 ? path : path[..separator]);
            path = separator < 0 ? [] : path[(separator + 1)..];
        }

        return node;
    }

    /// <summary>While building, before <see cref="Seal"/>: adds <paramref name="child"/>, whose key no sibling has.</summary>
    public void Add(ConfigurationNode child)
    {
        (_children ??= []).Add(child);
        _byKey?.Add(child.Key, child);
    }

    /// <summary>While building, before <see cref="Seal"/>: sets the value at <paramref name="path"/>, making the sections on the way.</summary>
    public void Set(ReadOnlySpan<char> path, string value)
    {
        var node = this;
        while (path.Length > 0)
        {
            var separator = path.IndexOf(ConfigurationPath.KeyDelimiter);
            var key = separator < 0 ? path : path[..separator];
            var child = node.Find(key);
            if (child is null)
            {
                child = new ConfigurationNode(key.ToString());
                node.Add(child);
            }

            node = child;
            path = separator < 0 ? [] : path[(separator + 1)..];
        }

        node.Value = value;
    }

    /// <summary>A node like this one under another key, sharing its children (a YAML alias of an anchored node).</summary>
    public ConfigurationNode As(string key) => new(key, Value) { _children = _children };

    /// <summary>
    /// Brings the tree below this node to the sealed invariants: removes the nodes with neither a value nor a child
    /// (a YAML <c>~</c>: no value, as an absent key), and sorts children that are out of order. A sealed tree seals
    /// again unchanged and without a write, so a subtree shared by an alias, or with the running configuration (which
    /// other threads read meanwhile), may be sealed again.
    /// </summary>
    /// <returns>False when this node is left empty (no value, no child).</returns>
    public bool Seal()
    {
        if (_children is not null)
        {
            if (_children.RemoveAll(child => !child.Seal()) > 0)
            {
                _byKey = null;
            }

            if (!IsSorted(_children))
            {
                _children.Sort(KeyOrder.Instance);
            }
        }

        return Value is not null || HasChildren;
    }

    /// <summary>
    /// The tree with <paramref name="value"/> at <paramref name="path"/> below this sealed node: this node and those
    /// on the way are copied (their child lists with them), every other node is shared.
    /// </summary>
    public ConfigurationNode With(ReadOnlySpan<char> path, string value)
    {
        var copy = new ConfigurationNode(Key, Value) { _children = _children is null ? null : [.. _children] };
        if (path.Length == 0)
        {
            copy.Value = value;
            return copy;
        }

        var separator = path.IndexOf(ConfigurationPath.KeyDelimiter);
        var key = separator < 0 ? path : path[..separator];
        var rest = separator < 0 ? [] : path[(separator + 1)..];
        var existing = Find(key);
        var child = (existing ?? new ConfigurationNode(key.ToString())).With(rest, value);
        copy._children ??= [];
        var at = copy._children.BinarySearch(child, KeyOrder.Instance);
        if (at >= 0)
        {
            copy._children[at] = child;
        }
        else
        {
            copy._children.Insert(~at, child);
        }

        return copy;
    }

    /// <summary>Every value below this node with its path relative to <paramref name="path"/> (null: this node is the root).</summary>
    public IEnumerable<KeyValuePair<string, string?>> Pairs(string? path = null)
    {
        if (path is not null && Value is not null)
        {
            yield return new(path, Value);
        }

        foreach (var child in Children)
        {
            foreach (var pair in child.Pairs(path is null ? child.Key : ConfigurationPath.Combine(path, child.Key)))
            {
                yield return pair;
            }
        }
    }

    private static bool IsSorted(List<ConfigurationNode> children)
    {
        for (var i = 1; i < children.Count; i++)
        {
            if (KeyOrder.Instance.Compare(children[i - 1], children[i]) > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <see cref="ConfigurationKeyComparer"/>'s order for single segments, without its splitting: numbers first and as
    /// numbers, then the rest ignoring case.
    /// </summary>
    private sealed class KeyOrder : IComparer<ConfigurationNode>
    {
        public static readonly KeyOrder Instance = new();

        public int Compare(ConfigurationNode? x, ConfigurationNode? y)
        {
            var xIsNumber = int.TryParse(x!.Key, out var xNumber);
            var yIsNumber = int.TryParse(y!.Key, out var yNumber);
            return (xIsNumber, yIsNumber) switch
            {
                (true, true) => xNumber.CompareTo(yNumber),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.Compare(x.Key, y.Key, StringComparison.OrdinalIgnoreCase),
            };
        }
    }
}
