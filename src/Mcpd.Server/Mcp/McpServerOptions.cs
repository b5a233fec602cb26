using Mcpd.Server.Connections;
using Mcpd.Server.Security;

namespace Mcpd.Server.Mcp;

/// <summary>The MCP listeners (config section <c>mcp</c>).</summary>
public sealed class McpServerOptions
{
    /// <summary>Port of the plain MCP listener (default 8080); 0 picks a free one.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Port of the CRC-framed listener (0x5A framing for noisy links); null: off.</summary>
    public int? CrcPort { get; set; }

    /// <summary>Address to listen on: "*", "localhost" or an IP address. Loopback by default, as <c>modbus:bind</c>.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>
    /// The role (of <c>security:roles</c>) of clients that present no certificate: absent, they are not checked; set,
    /// their requests are decided by that role's rules, as a certificate's are.
    /// </summary>
    public string? AnonymousRole { get; set; }

    /// <summary>TLS on both MCP listeners (plain and CRC framing) when a certificate is set.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Largest payload accepted; a larger header is answered ERROR FRAME_TOO_LARGE before its payload is read.</summary>
    public int MaxPayloadLength { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes a connection of the CRC listener may send as noise (dropped by resynchronisation) without one good frame
    /// in between; beyond it the connection is answered ERROR and closed. A noisy link loses a few bytes now and then;
    /// a peer that sends only noise costs the server CPU for nothing.
    /// </summary>
    public int MaxCrcNoiseBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Bytes all MCP connections together may hold in frames that have not fully arrived, counting each frame only past
    /// 64 KiB (<see cref="IncompleteFrameBudget"/>); a connection whose frame would exceed it is answered ERROR
    /// OVERLOADED and closed. At least the largest frame.
    /// </summary>
    public long MaxIncompleteFrameBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Bytes of request bodies all MCP connections together may hold in requests still running (routed, mapped,
    /// queued in a lane, forwarded; <see cref="RunningRequestBudget"/>); past it a request is answered OVERLOADED
    /// before its body is copied. At least the largest payload.
    /// </summary>
    public long MaxRunningRequestBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// CRC listener: how long a frame may wait for its remainder; then its start byte is dropped and the decoder looks
    /// for the next frame inside it (a length damaged upwards stalls the frames behind it no longer). Zero: no bound.
    /// </summary>
    public TimeSpan CrcFrameTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Requests one connection may have running; at the limit the connection stops reading (backpressure).</summary>
    public int MaxInFlightPerConnection { get; set; } = 64;

    /// <summary>Heartbeat interval (docs/protocol.md, "Heartbeat"); a connection silent for 3 intervals is closed.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a call of the server to a connected client (<c>IMcpPeer.CallAsync</c>) waits for its answer.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most connections per listener; at the limit the one least in use is closed (see <see cref="ProtectAfterRequest"/>).</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Most connections per listener from one remote IP address at once; the next is refused. 0: no limit (behind a proxy).</summary>
    public int MaxConnectionsPerAddress { get; set; } = 512;

    /// <summary>A connection that completed a request this recently is never closed to admit another.</summary>
    public TimeSpan ProtectAfterRequest { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The limits a new connection is admitted under. Heartbeat (docs/protocol.md, "Heartbeat"): a peer that sends
    /// nothing, not even a PING, for 3 intervals is dead.
    /// </summary>
    internal ConnectionLimits ConnectionLimits =>
        new(MaxConnections, ConnectionLimitPolicy.CloseOldestIdle, MaxConnectionsPerAddress, ProtectAfterRequest, 3 * HeartbeatInterval);

    /// <summary>
    /// Unconsumed input a connection may hold: at least 1 MiB, and at least the largest MCP frame (header and CRC
    /// framing included), or a frame at the limit could never be read whole.
    /// </summary>
    public int MaxInputBuffer => Math.Max(1024 * 1024, MaxPayloadLength + 16);
}
