using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Mcpd.Cli;

/// <summary>
/// Reads a YAML configuration file into configuration keys (<c>devices:0:registers:3:value</c>) straight from the
/// parser's events, as NetEscapades.Configuration.Yaml names them (a sequence entry is keyed by its index; a plain
/// <c>~</c> or <c>null</c> is no value), without building YamlDotNet's document model first: for a 65,536-register
/// map that model cost most of a reload. Anchors and aliases are followed. The top level must be a mapping.
/// </summary>
internal sealed class YamlConfigurationReader
{
    private readonly IParser _parser;
    private readonly Dictionary<string, string?> _keys = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What each anchor stands for: its keys relative to the anchored node ("" for a scalar's own value).</summary>
    private readonly Dictionary<string, List<KeyValuePair<string, string?>>> _anchors = [];

    private YamlConfigurationReader(TextReader reader) => _parser = new Parser(reader);

    /// <summary>The keys of the YAML document in <paramref name="stream"/>; throws <see cref="YamlException"/> with the position of a problem.</summary>
    public static Dictionary<string, string?> Read(Stream stream)
    {
        using var text = new StreamReader(stream, detectEncodingFromByteOrderMarks: true);
        var reader = new YamlConfigurationReader(text);
        reader.ReadDocument();
        return reader._keys;
    }

    private void ReadDocument()
    {
        _parser.Consume<StreamStart>();
        if (_parser.Accept<StreamEnd>(out _))
        {
            return;
        }

        _parser.Consume<DocumentStart>();
        if (_parser.TryConsume<Scalar>(out var scalar))
        {
            if (!IsNull(scalar) && scalar.Value.Length > 0)
            {
                throw new YamlException(scalar.Start, scalar.End, "the top level of the configuration must be settings (key: value), not a single value");
            }
        }
        else if (_parser.Accept<MappingStart>(out _))
        {
            ReadNode(null);
        }
        else
        {
            var other = _parser.Consume<ParsingEvent>();
            throw new YamlException(other.Start, other.End, "the top level of the configuration must be settings (key: value), not a list");
        }
    }

    /// <summary>Reads the node at the parser into keys under <paramref name="path"/> (null: the root).</summary>
    private void ReadNode(string? path)
    {
        var first = _keys.Count;
        var anchor = AnchorName.Empty;
        switch (_parser.Consume<ParsingEvent>())
        {
            case AnchorAlias alias:
                Follow(alias, path);
                return;
            case Scalar scalar:
                anchor = scalar.Anchor;
                Add(path!, IsNull(scalar) ? null : scalar.Value, scalar);
                break;
            case SequenceStart sequence:
                anchor = sequence.Anchor;
                for (var index = 0; !_parser.TryConsume<SequenceEnd>(out _); index++)
                {
                    ReadNode(Child(path, index.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }

                break;
            case MappingStart mapping:
                anchor = mapping.Anchor;
                while (!_parser.TryConsume<MappingEnd>(out _))
                {
                    var key = _parser.Consume<Scalar>();
                    ReadNode(Child(path, key.Value));
                }

                break;
            case var other:
                throw new YamlException(other.Start, other.End, $"expected a value, a list or settings, got {other.GetType().Name}");
        }

        if (!anchor.IsEmpty)
        {
            // Keys added since `first` are this node's; a dictionary enumerates them in insertion order.
            var prefix = path is null ? 0 : path.Length + 1;
            _anchors[anchor.Value] = [.. _keys.Skip(first).Select(pair => new KeyValuePair<string, string?>(pair.Key.Length > prefix ? pair.Key[prefix..] : "", pair.Value))];
        }
    }

    private void Follow(AnchorAlias alias, string? path)
    {
        if (!_anchors.TryGetValue(alias.Value.Value, out var keys))
        {
            throw new YamlException(alias.Start, alias.End, $"the alias *{alias.Value} names no anchor before it");
        }

        foreach (var (key, value) in keys)
        {
            Add(key.Length == 0 ? path! : Child(path, key), value, alias);
        }
    }

    private void Add(string key, string? value, ParsingEvent at)
    {
        if (!_keys.TryAdd(key, value))
        {
            throw new YamlException(at.Start, at.End, $"the key '{key}' is set twice");
        }
    }

    private static string Child(string? path, string key) => path is null ? key : ConfigurationPath.Combine(path, key);

    private static bool IsNull(Scalar scalar) => scalar.Style == ScalarStyle.Plain && scalar.Value is "~" or "null" or "Null" or "NULL";
}
