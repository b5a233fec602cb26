using System.Net;
using Mcpd.Client.Mcp;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Connections;

/// <summary>A live connection as the <see cref="ConnectionRegistry"/> sees it: who, since when, last heard from when.</summary>
public sealed class TrackedConnection
{
    private readonly ConnectionContext _context;
    private long _lastActivityTimestamp;

    internal TrackedConnection(ConnectionContext context, string listener, TimeSpan idleTimeout, TimeProvider time)
    {
        _context = context;
        Listener = listener;
        IdleTimeout = idleTimeout;
        ConnectedAt = time.GetUtcNow();
        _lastActivityTimestamp = time.GetTimestamp();
    }

    /// <summary>Kestrel's connection id, the one in log lines.</summary>
    public string Id => _context.ConnectionId;

    /// <summary>The listener ("modbus").</summary>
    public string Listener { get; }

    /// <summary>The peer.</summary>
    public EndPoint? RemoteEndPoint => _context.RemoteEndPoint;

    /// <summary>When the connection was admitted.</summary>
    public DateTimeOffset ConnectedAt { get; }

    /// <summary>Silence after which the connection is closed; zero: never.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last bytes received.</summary>
    public long LastActivityTimestamp => Volatile.Read(ref _lastActivityTimestamp);

    /// <summary>Records that bytes arrived now.</summary>
    public void Touch(TimeProvider time) => Volatile.Write(ref _lastActivityTimestamp, time.GetTimestamp());

    /// <summary>For an MCP connection, the client on the other end, to call it (docs/protocol.md: both directions may send REQ); else null.</summary>
    public IMcpPeer? Peer { get; internal set; }

    /// <summary>For an MCP connection, its id, peer and bound session; else null.</summary>
    internal IMcpConnectionFeature? Mcp => _context.Features.Get<IMcpConnectionFeature>();

    /// <summary>Closes the connection; its handler sees the transport end and returns.</summary>
    public void Abort(string reason) => _context.Abort(new ConnectionAbortedException(reason));
}
