using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// The children of every section of a configuration's keys, so that listing a section's children costs the number
/// of its children. <see cref="ConfigurationProvider.GetChildKeys"/> scans every key of the provider for each
/// section it is asked about, and binding or checking a map of N registers asks about each of them: N x N key
/// comparisons (65,536 registers took minutes). Invariant: each list holds a section's children once, sorted as
/// configuration keys are (numbers as numbers), so a provider alone answers without copying or sorting.
/// </summary>
internal sealed class ConfigurationKeyIndex
{
    /// <summary>Child segments by section path ("" is the root); a key with no children has no entry.</summary>
    private readonly Dictionary<string, List<string>> _children = new(StringComparer.OrdinalIgnoreCase) { [""] = [] };

    /// <summary>Indexes the keys of <paramref name="values"/> (full key paths, such as <c>devices:0:unit</c>).</summary>
    public ConfigurationKeyIndex(IReadOnlyDictionary<string, string?> values)
    {
        foreach (var key in values.Keys)
        {
            var separator = key.LastIndexOf(ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            // A key that is also a section (a:b = 1 beside a:b:c = 2) is listed once, as the section.
            if (!_children.ContainsKey(key))
            {
                SectionOf(key, separator, values).Add(key[(separator + 1)..]);
            }
        }

        foreach (var children in _children.Values)
        {
            children.Sort(SegmentComparer.Instance);
        }
    }

    /// <summary>
    /// What <see cref="IConfigurationProvider.GetChildKeys"/> answers: the child segments of
    /// <paramref name="parentPath"/> with <paramref name="earlierKeys"/> (those of the providers before), sorted.
    /// </summary>
    public IEnumerable<string> ChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
    {
        if (!_children.TryGetValue(parentPath ?? "", out var children))
        {
            return earlierKeys;
        }

        if (earlierKeys.TryGetNonEnumeratedCount(out var earlier) && earlier == 0)
        {
            return children.AsReadOnly();
        }

        var keys = new List<string>(earlierKeys);
        keys.AddRange(children);
        keys.Sort(ConfigurationKeyComparer.Instance);
        return keys;
    }

    /// <summary>The children of the section holding <paramref name="key"/> (its path ends before <paramref name="separator"/>), made and listed in its own section the first time.</summary>
    private List<string> SectionOf(string key, int separator, IReadOnlyDictionary<string, string?> values)
    {
        var path = separator < 0 ? "" : key[..separator];
        if (!_children.TryGetValue(path, out var children))
        {
            _children[path] = children = [];
            var above = path.LastIndexOf(ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);
            var siblings = SectionOf(path, above, values);
            if (values.ContainsKey(path))
            {
                // Listed already as a key with a value: take it out to list it once.
                siblings.Remove(path[(above + 1)..]);
            }

            siblings.Add(path[(above + 1)..]);
        }

        return children;
    }

    /// <summary>
    /// <see cref="ConfigurationKeyComparer"/>'s order for single segments, without its splitting: numbers first and
    /// as numbers, then the rest ignoring case. A list of 65,536 entries sorts in milliseconds instead of a tenth of a second.
    /// </summary>
    private sealed class SegmentComparer : IComparer<string>
    {
        public static readonly SegmentComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var xIsNumber = int.TryParse(x, out var xNumber);
            var yIsNumber = int.TryParse(y, out var yNumber);
            return (xIsNumber, yIsNumber) switch
            {
                (true, true) => xNumber.CompareTo(yNumber),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.Compare(x, y, StringComparison.OrdinalIgnoreCase),
            };
        }
    }
}
