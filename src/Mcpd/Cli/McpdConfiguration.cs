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

    /// <summary>
    /// Builds the layered configuration, reading the file once (hot reload builds it again:
    /// <see cref="ConfigurationFileWatcher"/>); throws <see cref="FileNotFoundException"/> for a missing file and
    /// what <see cref="ConfigurationFileError.IsLoadFailure"/> names for one that does not parse. A reload passes the
    /// <paramref name="running"/> configuration, whose unchanged sections a YAML file's tree then shares.
    /// </summary>
    public static IConfigurationRoot Build(string? file, IReadOnlyDictionary<string, string?> commandLine, bool includeEnvironment = true, IConfiguration? running = null)
    {
        // Whatever binds this configuration (serve, read --map, config show) reads durations as mcpd documents them.
        DurationConverter.Register();
        var builder = new ConfigurationBuilder();
        if (file is not null)
        {
            var fullPath = Path.GetFullPath(file);
            if (Directory.Exists(fullPath))
            {
                throw new FileNotFoundException($"{fullPath} is a directory, not a configuration file (give the path of a .yaml or .json file).", fullPath);
            }

            if (!File.Exists(fullPath))
            {
                throw new FileNotFoundException($"The configuration file {fullPath} does not exist.", fullPath);
            }

            void Read(FileConfigurationSource source)
            {
                source.Path = Path.GetFileName(fullPath);
                source.FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(fullPath)!);
                source.Optional = false;
                source.ReloadOnChange = false;
            }

            if (fullPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                builder.Add<FileLayers.Json>(Read);
            }
            else
            {
                builder.Add<FileLayers.Yaml>(source =>
                {
                    Read(source);
                    source.Running = running;
                });
            }
        }

        if (includeEnvironment)
        {
            builder.AddEnvironmentVariables(EnvironmentPrefix);
        }

        builder.AddInMemoryCollection(commandLine);
        return builder.Build();
    }

    /// <summary>
    /// Every problem of <paramref name="configuration"/>: unknown keys, bad values, then meaning; a value set by an
    /// environment variable or a flag says so, since the file the user looks at does not have it.
    /// </summary>
    public static IReadOnlyList<string> Check(IConfigurationRoot configuration) =>
        [.. McpdOptionsValidator.CheckConfiguration(configuration).Select(problem => WithSource(configuration, problem))];

    private static string WithSource(IConfigurationRoot configuration, string problem)
    {
        var source = EffectiveConfiguration.SourceOf(configuration, problem.Split(": ", 2)[0]);
        return source.StartsWith("environment ", StringComparison.Ordinal) ? $"{problem} (set by the environment variable {source["environment ".Length..]})"
            : source == EffectiveConfiguration.CommandLine ? $"{problem} (set by a command-line flag)"
            : problem;
    }
}
