namespace Mcpd.Server.Gateway;

/// <summary>
/// The upstreams (config section <c>upstreams</c>), for <see cref="UpstreamRegistry"/>; bound from the configuration
/// root, where <see cref="Upstreams"/> is the section.
/// </summary>
public sealed class UpstreamsOptions
{
    /// <summary>Links to real devices, by name.</summary>
    public IDictionary<string, UpstreamOptions> Upstreams { get; init; } = new Dictionary<string, UpstreamOptions>(StringComparer.OrdinalIgnoreCase);
}
