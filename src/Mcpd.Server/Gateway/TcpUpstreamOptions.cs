namespace Mcpd.Server.Gateway;

/// <summary>Settings of a Modbus TCP upstream (section <c>upstreams:NAME:tcp</c>).</summary>
public sealed class TcpUpstreamOptions
{
    /// <summary>Most connections to the device in the pool.</summary>
    public int MaxConnections { get; set; } = 4;

    /// <summary>Adds every problem of these settings to <paramref name="problems"/>, under the key path <paramref name="path"/>.</summary>
    internal void Check(string path, List<string> problems)
    {
        if (MaxConnections is < 1 or > 64)
        {
            problems.Add($"{path}:maxConnections: {MaxConnections} is outside 1..64");
        }
    }
}
