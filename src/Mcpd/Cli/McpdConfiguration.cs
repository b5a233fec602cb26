using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Cli;

/// <summary>
/// Builds mcpd's configuration in its layers: built-in defaults (the options classes) &lt; the file (YAML or
/// JSON) &lt; environment variables MCPD__SECTION__KEY &lt; command-line flags.
/// </summary>
internal static class McpdConfiguration
{
    /// <summary>The file read when --config is not given and it exists in the working directory.</summary>
    public const string DefaultFileName = "mcpd.yaml";

    /// <summary>Prefix of environment variables; "__" separates sections (MCPD__MODBUS__PORT=5020).</summary>
    public const string EnvironmentPrefix = "MCPD__";

    /// <summary>Log levels per category, read by Microsoft.Extensions.Logging, not by mcpd's options.</summary>
    public const string LoggingSection = Server.Hosting.McpdHost.LoggingSection;

    /// <summary>The file to read: <paramref name="explicitPath"/>, else mcpd.yaml when present, else none.</summary>
    public static string? ResolveFile(string? explicitPath) =>
        explicitPath ?? (File.Exists(DefaultFileName) ? Path.GetFullPath(DefaultFileName) : null);

    /// <summary>Builds the layered configuration; throws <see cref="FileNotFoundException"/> for a missing file.</summary>
    public static IConfigurationRoot Build(string? file, IReadOnlyDictionary<string, string?> commandLine, bool includeEnvironment = true)
    {
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            var fullPath = Path.GetFullPath(file);
            if (!File.Exists(fullPath))
            {
                throw new FileNotFoundException($"The configuration file {fullPath} does not exist.", fullPath);
            }

            if (fullPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                builder.AddJsonFile(fullPath, optional: false, reloadOnChange: false);
            }
            else
            {
                builder.AddYamlFile(fullPath, optional: false, reloadOnChange: false);
            }
        }

        if (includeEnvironment)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }

        builder.AddInMemoryCollection(commandLine);
        return builder.Build();
    }

    /// <summary>Every problem of <paramref name="configuration"/>: unknown keys, bad values, then meaning.</summary>
    public static IReadOnlyList<string> Check(IConfiguration configuration) =>
        McpdOptionsValidator.CheckConfiguration(configuration, LoggingSection);
}
