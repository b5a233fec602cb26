using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;

namespace Mcpd.Cli;

/// <summary>
/// The effective configuration, key by key, with where each value comes from: the built-in default, the file, an
/// MCPD__ environment variable or a command-line flag (the last layer that sets a key wins). Secrets are masked.
/// </summary>
internal static class EffectiveConfiguration
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        IgnoreReadOnlyProperties = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>One line per key: the effective value and its source.</summary>
    public static IReadOnlyList<(string Key, string Value, string Source)> Describe(IConfigurationRoot configuration)
    {
        var options = ConfigurationTree.Of(configuration).Bound.Options;
        var tree = JsonSerializer.SerializeToNode(options, Json)!.AsObject();
        // Computed views are not settings; with no devices configured, the built-in default device is what runs.
        tree.Remove("maxInputBuffer");
        tree["devices"] = tree["effectiveDevices"]?.DeepClone();
        tree.Remove("effectiveDevices");
        var rows = new List<(string, string, string)>();
        Flatten(tree, "", (key, value) => rows.Add((key, Mask(key, value), SourceOf(configuration, key))));
        // Sections mcpd's options do not bind (logging) come from the layers alone.
        foreach (var (key, value) in configuration.GetSection(McpdConfiguration.LoggingSection).AsEnumerable().Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            rows.Add((key, value!, SourceOf(configuration, key)));
        }

        return rows;
    }

    private static void Flatten(JsonNode? node, string prefix, Action<string, string> add)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (name, child) in map)
                {
                    Flatten(child, prefix.Length == 0 ? name : $"{prefix}:{name}", add);
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    Flatten(list[i], $"{prefix}:{i}", add);
                }

                break;
            case null:
                break;
            default:
                add(prefix, node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString());
                break;
        }
    }

    /// <summary>The source of a value set by a flag of <c>mcpd serve</c>.</summary>
    public const string CommandLine = "command line";

    /// <summary>The last layer that sets <paramref name="key"/>, in words.</summary>
    public static string SourceOf(IConfigurationRoot configuration, string key)
    {
        foreach (var provider in configuration.Providers.Reverse())
        {
            if (provider.TryGet(key, out _))
            {
                return provider switch
                {
                    FileConfigurationProvider file => $"file {file.Source.Path}",
                    EnvironmentVariablesConfigurationProvider => $"environment {McpdConfiguration.EnvironmentPrefix}{key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant()}",
                    MemoryConfigurationProvider => CommandLine,
                    _ => provider.ToString() ?? "?",
                };
            }
        }

        return "default";
    }

    private static string Mask(string key, string value) =>
        key.StartsWith("sessions:tokens:", StringComparison.OrdinalIgnoreCase)
        || (key.Equals("sessions:redis:connectionString", StringComparison.OrdinalIgnoreCase) && value.Contains("password", StringComparison.OrdinalIgnoreCase))
            ? "***"
            : value;
}
