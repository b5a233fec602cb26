using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>Settings of an <see cref="McpClient"/>.</summary>
public sealed class McpClientOptions
{
    /// <summary>How long a call, a one-way send or a ping waits for its answer.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long connecting may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// TLS for every connection (a server's <c>mcp:tls</c>; with a client certificate when it sets <c>clientCa</c>);
    /// null (the default) speaks plain TCP. Each reconnect makes a handshake of its own, within the connect timeout.
    /// </summary>
    public ClientTlsOptions? Tls { get; set; }

    /// <summary>Largest payload accepted from the server.</summary>
    public int MaxPayloadLength { get; set; } = 1024 * 1024;

    /// <summary>A PING is sent after each interval in which nothing arrived (docs/protocol.md, "Heartbeat": 30 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>PINGs in a row without an answer after which the connection counts as dead (docs/protocol.md, "Heartbeat").</summary>
    public const int MaxUnansweredPings = 3;

    /// <summary>How a lost connection is re-established.</summary>
    public ReconnectPolicy Reconnect { get; set; } = ReconnectPolicy.Default;

    /// <summary>Where connection losses, reconnects and the final give-up are logged; none by default.</summary>
    public Microsoft.Extensions.Logging.ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The clock of heartbeats and backoff delays (a FakeTimeProvider in tests).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>How frames travel: plain, or inside the 0x5A CRC framing (for a server's CRC listener).</summary>
    public McpFraming Framing { get; set; } = McpFraming.Plain;

    /// <summary>Handlers of the requests the server sends to this client, by method; others are answered NOT_FOUND.</summary>
    internal Dictionary<string, McpRequestHandler> Handlers { get; } = new(StringComparer.Ordinal);

    /// <summary>Answers requests for <paramref name="method"/> that the server sends to this client with <paramref name="handler"/>.</summary>
    public McpClientOptions MapMethod(string method, McpRequestHandler handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(handler);
        Handlers[method] = handler;
        return this;
    }
}
