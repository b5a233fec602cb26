using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Mcpd.Cli;

/// <summary>
/// The configuration file's layer, YAML or JSON, handing its keys over whole (<see cref="IConfigurationLayer"/>), so
/// that the configuration is read into a <see cref="ConfigurationTree"/> in one pass: walking the stock file
/// providers section by section scans every key per section, which made checking and binding a register map
/// quadratic in its size. The file is read once per provider (a reload builds new ones: <see cref="ConfigurationFileWatcher"/>).
/// </summary>
internal static class FileLayers
{
    /// <summary>A YAML file, read by <see cref="YamlConfigurationReader"/>.</summary>
    public sealed class Yaml : FileConfigurationSource
    {
        public override IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            EnsureDefaults(builder);
            return new Provider(this);
        }

        private sealed class Provider(FileConfigurationSource source) : FileConfigurationProvider(source), IConfigurationLayer
        {
            public IEnumerable<KeyValuePair<string, string?>> Pairs => Data;

            public override void Load(Stream stream) => Data = YamlConfigurationReader.Read(stream);
        }
    }

    /// <summary>A JSON file.</summary>
    public sealed class Json : JsonConfigurationSource
    {
        public override IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            EnsureDefaults(builder);
            return new Provider(this);
        }

        private sealed class Provider(JsonConfigurationSource source) : JsonConfigurationProvider(source), IConfigurationLayer
        {
            public IEnumerable<KeyValuePair<string, string?>> Pairs => Data;
        }
    }
}
