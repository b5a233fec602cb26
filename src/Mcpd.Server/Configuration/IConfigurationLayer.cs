namespace Mcpd.Server.Configuration;

/// <summary>A configuration provider that holds its keys as a tree (a large file), so merging the layers costs no walk of it.</summary>
internal interface IConfigurationLayer
{
    /// <summary>Every key of the layer.</summary>
    ConfigurationTree Tree { get; }
}
