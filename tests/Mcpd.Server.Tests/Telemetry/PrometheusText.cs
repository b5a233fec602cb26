using System.Globalization;
using System.Text.RegularExpressions;

namespace Mcpd.Server.Tests.Telemetry;

/// <summary>
/// A strict reader of the Prometheus text format (0.0.4): every line is <c># HELP name text</c>, <c># TYPE name
/// type</c>, another comment, or a sample <c>name{label="value",...} value [timestamp]</c> of a declared family.
/// Anything else fails the test with the line.
/// </summary>
internal sealed partial class PrometheusText
{
    private static readonly string[] Types = ["counter", "gauge", "histogram", "summary", "untyped"];
    private static readonly string[] SampleSuffixes = ["", "_total", "_bucket", "_sum", "_count", "_created"];

    private PrometheusText(Dictionary<string, string> types, List<Sample> samples)
    {
        FamilyTypes = types;
        Samples = samples;
    }

    /// <summary>The type of each family declared by <c># TYPE</c>.</summary>
    public IReadOnlyDictionary<string, string> FamilyTypes { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public static PrometheusText Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var help = HelpLine().Match(line);
                Assert.True(help.Success, $"malformed HELP line: {line}");
                Assert.True(helped.Add(help.Groups[1].Value), $"second HELP for {help.Groups[1].Value}");
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var type = TypeLine().Match(line);
                Assert.True(type.Success && Types.Contains(type.Groups[2].Value), $"malformed TYPE line: {line}");
                Assert.True(types.TryAdd(type.Groups[1].Value, type.Groups[2].Value), $"second TYPE for {type.Groups[1].Value}");
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"malformed sample line: {line}");
            var name = sample.Groups["name"].Value;
            Assert.True(SampleSuffixes.Any(suffix => name.EndsWith(suffix, StringComparison.Ordinal) && types.ContainsKey(name[..^suffix.Length])),
                $"sample {name} belongs to no family declared by # TYPE before it");
            samples.Add(new Sample(name, Labels(sample.Groups["labels"].Value, line), Value(sample.Groups["value"].Value)));
        }

        return new PrometheusText(types, samples);
    }

    /// <summary>The value of the one sample named <paramref name="name"/> with at least <paramref name="labels"/>, or null when there is none.</summary>
    public double? Value(string name, params (string Name, string Value)[] labels)
    {
        var matching = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).ToList();
        Assert.True(matching.Count <= 1, $"{matching.Count} samples of {name} match");
        return matching.Count == 0 ? null : matching[0].Value;
    }

    private static Dictionary<string, string> Labels(string text, string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = 0;
        while (position < text.Length)
        {
            var label = Label().Match(text, position);
            Assert.True(label.Success && label.Index == position, $"malformed labels in: {line}");
            var value = label.Groups[2].Value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            Assert.True(labels.TryAdd(label.Groups[1].Value, value), $"label {label.Groups[1].Value} twice in: {line}");
            position += label.Length;
        }

        return labels;
    }

    private static double Value(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|Inf|NaN))( -?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)"",?")]
    private static partial Regex Label();

    /// <summary>One sample line.</summary>
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
}
