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
    /// <summary>One line per key: the effective value (<see cref="EffectiveSettings"/>) and its source.</summary>
    public static IReadOnlyList<(string Key, string Value, string Source)> Describe(IConfigurationRoot configuration) =>
        [.. EffectiveSettings.Of(configuration).Select(setting => (setting.Key, setting.Value, SourceOf(configuration, setting.Key)))];

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
}
