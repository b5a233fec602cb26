using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;

namespace Mcpd.Cli;

/// <summary>
/// The configuration file's layer, YAML or JSON, holding its keys as a tree (<see cref="IConfigurationLayer"/>), so
/// that the configuration is merged into a <see cref="ConfigurationTree"/> without a walk: walking the stock file
/// providers section by section scans every key per section, which made checking and binding a register map
/// quadratic in its size. The file is read once per provider (a reload builds new ones: <see cref="ConfigurationFileWatcher"/>).
/// </summary>
internal static class FileLayers
{
    /// <summary>A YAML file, read by <see cref="YamlConfigurationReader"/>.</summary>
    public sealed class Yaml : FileConfigurationSource
    {
        /// <summary>The configuration running when the file is read again (hot reload), whose unchanged nodes the file's tree shares; null: none.</summary>
        public IConfiguration? Running { get; set; }

        public override IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            EnsureDefaults(builder);
            return new Provider(this);
        }

        private sealed class Provider(Yaml source) : FileConfigurationProvider(source), IConfigurationLayer
        {
            /// <summary>The file's keys; <see cref="ConfigurationProvider.Data"/> stays empty (every reader is overridden).</summary>
            public ConfigurationTree Tree { get; private set; } = ConfigurationTree.Empty;

            public override void Load(Stream stream) =>
                Tree = YamlConfigurationReader.Read(stream, source.Running is { } running ? ConfigurationTree.Of(running).Root : null);

            public override bool TryGet(string key, out string? value) => (value = Tree.ValueAt(key)) is not null;

            public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath) =>
                Tree.ChildKeys(earlierKeys, parentPath);
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
            public ConfigurationTree Tree { get; private set; } = ConfigurationTree.Empty;

            public override void Load(Stream stream)
            {
                base.Load(stream);
                Tree = ConfigurationTree.Of(Data);
            }
        }
    }
}
