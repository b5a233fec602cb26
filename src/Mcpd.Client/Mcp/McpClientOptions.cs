namespace Mcpd.Client.Mcp;

/// <summary>Settings of an <see cref="McpClient"/>.</summary>
public sealed class McpClientOptions
{
    /// <summary>How long a call, a one-way send or a ping waits for its answer.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long connecting may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest payload accepted from the server.</summary>
    public int MaxPayloadLength { get; set; } = 1024 * 1024;
}
