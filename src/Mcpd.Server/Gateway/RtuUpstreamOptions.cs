namespace Mcpd.Server.Gateway;

/// <summary>Settings of a Modbus RTU bus (section <c>upstreams:NAME:rtu</c>).</summary>
public sealed class RtuUpstreamOptions
{
    /// <summary>Requests waiting for the bus; beyond it a request is answered 06 (busy).</summary>
    public int QueueLimit { get; set; } = 64;

    /// <summary>Adds every problem of these settings to <paramref name="problems"/>, under the key path <paramref name="path"/>.</summary>
    internal void Check(string path, List<string> problems)
    {
        if (QueueLimit is < 1 or > 100000)
        {
            problems.Add($"{path}:queueLimit: {QueueLimit} is outside 1..100000");
        }
    }
}
