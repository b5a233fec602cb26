using System.Globalization;
using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Mcpd.Cli;

/// <summary>
/// Reads a YAML configuration file into a <see cref="ConfigurationTree"/> straight from the parser's events, keyed as
/// NetEscapades.Configuration.Yaml keys it (a sequence entry is keyed by its index; a plain <c>~</c> or <c>null</c> is
/// no value), without building YamlDotNet's document model or a string per key path: for a 65,536-register map
/// those cost most of a reload. Anchors and aliases are followed (an alias shares the anchored node's children).
/// The top level must be a mapping. Given the running configuration's tree, a reload shares each of its nodes that the
/// file still says the same (same key, value and children; sealed nodes never change), so what survives a reload is
/// only what changed: for a map of 65,536 registers whose values were rewritten, the value nodes and the entries over
/// them, instead of every node, which the collector then copied from generation to generation.
/// </summary>
internal sealed class YamlConfigurationReader
{
    private readonly IParser _parser;

    /// <summary>The keys from the root to the node being read, to name a key in a problem.</summary>
    private readonly List<string> _path = [];

    private readonly Dictionary<string, ConfigurationNode> _anchors = [];

    /// <summary>
    /// One string per distinct key: a map of N registers repeats the same few keys N times, and the tree keeps the
    /// one it was given (the parser's copy is garbage at once, which costs the collector nothing).
    /// </summary>
    private readonly HashSet<string> _keyStrings = [];

    /// <summary>
    /// Values read, by key and value, to share one node among the entries that say the same (a map's <c>table:
    /// holding</c>, <c>type: float32</c>, <c>value: "0"</c>): a sealed value node never changes. At most
    /// <see cref="SharedValuesLimit"/>: the unique ones (addresses, names) fill it early and are then only looked up.
    /// </summary>
    private readonly Dictionary<(string Key, string Value), ConfigurationNode> _sharedValues = [];

    private const int SharedValuesLimit = 4096;

    private YamlConfigurationReader(TextReader reader) => _parser = new Parser(reader);

    /// <summary>
    /// The keys of the YAML document in <paramref name="stream"/>, sharing the nodes of <paramref name="running"/> (the
    /// running configuration, null: none) that did not change; throws <see cref="YamlException"/> with the position of a problem.
    /// </summary>
    public static ConfigurationTree Read(Stream stream, ConfigurationNode? running = null)
    {
        using var text = new StreamReader(stream, detectEncodingFromByteOrderMarks: true);
        return ConfigurationTree.Of(new YamlConfigurationReader(text).ReadDocument(running));
    }

    private ConfigurationNode ReadDocument(ConfigurationNode? running)
    {
        _parser.Consume<StreamStart>();
        if (_parser.Accept<StreamEnd>(out _))
        {
            return new ConfigurationNode("");
        }

        _parser.Consume<DocumentStart>();
        if (_parser.TryConsume<Scalar>(out var scalar))
        {
            if (!IsNull(scalar) && scalar.Value.Length > 0)
            {
                throw new YamlException(scalar.Start, scalar.End, "the top level of the configuration must be settings (key: value), not a single value");
            }

            return new ConfigurationNode("");
        }

        if (_parser.Accept<MappingStart>(out _))
        {
            return ReadNode("", running);
        }

        var other = _parser.Consume<ParsingEvent>();
        throw new YamlException(other.Start, other.End, "the top level of the configuration must be settings (key: value), not a list");
    }

    /// <summary>
    /// Reads the node at the parser as the one keyed <paramref name="key"/>: <paramref name="running"/> (the node of the
    /// running configuration at the same path, null: none) when the file says the same of it, else a new node.
    /// </summary>
    private ConfigurationNode ReadNode(string key, ConfigurationNode? running)
    {
        ConfigurationNode node;
        AnchorName anchor;
        // Whether the node read is running's: each child running's own child, and as many; a child with neither a value
        // nor a child (a YAML ~) does not count, sealing removes it.
        bool same;
        var kept = 0;
        switch (_parser.Consume<ParsingEvent>())
        {
            case AnchorAlias alias:
                return _anchors.TryGetValue(alias.Value.Value, out var anchored)
                    ? anchored.As(key)
                    : throw new YamlException(alias.Start, alias.End, $"the alias *{alias.Value} names no anchor before it");
            case Scalar scalar:
                anchor = scalar.Anchor;
                var value = IsNull(scalar) ? null : scalar.Value;
                same = value is not null && running is { HasChildren: false } && string.Equals(running.Value, value, StringComparison.Ordinal);
                node = same ? running! : ValueNode(key, value);
                break;
            case SequenceStart sequence:
                anchor = sequence.Anchor;
                node = new ConfigurationNode(key);
                same = running is { Value: null };
                for (var index = 0; !_parser.TryConsume<SequenceEnd>(out _); index++)
                {
                    var before = running?.ChildAt(index);
                    var child = ReadChild(before?.Key ?? index.ToString(CultureInfo.InvariantCulture), before);
                    if (Counts(child, ref kept))
                    {
                        same &= ReferenceEquals(child, before);
                    }

                    node.Add(child);
                }

                break;
            case MappingStart mapping:
                anchor = mapping.Anchor;
                node = new ConfigurationNode(key);
                same = running is { Value: null };
                while (!_parser.TryConsume<MappingEnd>(out _))
                {
                    var childKey = _parser.Consume<Scalar>();
                    if (node.Find(childKey.Value) is not null)
                    {
                        throw new YamlException(childKey.Start, childKey.End, $"the key '{string.Join(ConfigurationPath.KeyDelimiter, [.. _path, childKey.Value])}' is set twice");
                    }

                    var before = running?.Find(childKey.Value) is { } found && string.Equals(found.Key, childKey.Value, StringComparison.Ordinal) ? found : null;
                    var child = ReadChild(before?.Key ?? (_keyStrings.TryGetValue(childKey.Value, out var known) ? known : Keep(childKey.Value)), before);
                    if (Counts(child, ref kept))
                    {
                        same &= ReferenceEquals(child, before);
                    }

                    node.Add(child);
                }

                break;
            case var other:
                throw new YamlException(other.Start, other.End, $"expected a value, a list or settings, got {other.GetType().Name}");
        }

        if (same && kept == running!.Children.Count)
        {
            node = running;
        }

        if (!anchor.IsEmpty)
        {
            _anchors[anchor.Value] = node;
        }

        return node;
    }

    /// <summary>The node of <paramref name="key"/> with <paramref name="value"/>: one read before with the same key and value, else a new one.</summary>
    private ConfigurationNode ValueNode(string key, string? value)
    {
        if (value is null)
        {
            return new ConfigurationNode(key);
        }

        if (_sharedValues.TryGetValue((key, value), out var shared))
        {
            return shared;
        }

        var node = new ConfigurationNode(key, value);
        if (_sharedValues.Count < SharedValuesLimit)
        {
            _sharedValues.Add((key, value), node);
        }

        return node;
    }

    /// <summary>True, counting it in <paramref name="kept"/>, when <paramref name="child"/> has a value or a child.</summary>
    private static bool Counts(ConfigurationNode child, ref int kept)
    {
        var counts = child.Value is not null || child.HasChildren;
        kept += counts ? 1 : 0;
        return counts;
    }

    private string Keep(string key)
    {
        _keyStrings.Add(key);
        return key;
    }

    private ConfigurationNode ReadChild(string key, ConfigurationNode? running)
    {
        _path.Add(key);
        var child = ReadNode(key, running);
        _path.RemoveAt(_path.Count - 1);
        return child;
    }

    private static bool IsNull(Scalar scalar) => scalar.Style == ScalarStyle.Plain && scalar.Value is "~" or "null" or "Null" or "NULL";
}
