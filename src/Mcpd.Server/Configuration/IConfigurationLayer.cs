namespace Mcpd.Server.Configuration;

/// <summary>A configuration provider that can hand over all its keys at once (a large file), so merging the layers costs their size.</summary>
internal interface IConfigurationLayer
{
    /// <summary>Every key of the layer with its value.</summary>
    IEnumerable<KeyValuePair<string, string?>> Pairs { get; }
}
