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

    /// <summary>A PING is sent after each interval in which nothing arrived (seed 2.5: 30 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>PINGs in a row without an answer after which the connection counts as dead (seed 2.5).</summary>
    public const int MaxUnansweredPings = 3;

    /// <summary>How a lost connection is re-established.</summary>
    public ReconnectPolicy Reconnect { get; set; } = ReconnectPolicy.Default;

    /// <summary>Where connection losses, reconnects and the final give-up are logged; none by default.</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The clock of heartbeats and backoff delays (a FakeTimeProvider in tests).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;
}
