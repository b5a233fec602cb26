using System.Net;
using Mcpd.Client.Mcp;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Connections;

/// <summary>
/// A live connection as the <see cref="ConnectionRegistry"/> sees it: who, since when, last heard from when, and when it
/// last completed a request.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The requests' token source is never disposed, on purpose: see _requestsAborted.")]
public sealed class TrackedConnection
{
    private readonly ConnectionContext _context;

    /// <summary>
    /// Never disposed: it has no timer, and a late <see cref="Abort"/> (the idle sweep racing the close) must still be
    /// able to cancel it.
    /// </summary>
    private readonly CancellationTokenSource _requestsAborted = new();
    private long _lastActivityTimestamp;
    private long _lastRequestTimestamp;

    /// <summary>Set by <see cref="RequestRead"/>, turned into <see cref="LastRequestTimestamp"/> by the next <see cref="Touch"/>.</summary>
    private volatile bool _requestRead;

    /// <summary>Complete requests read; only the connection's read loop writes it.</summary>
    private long _requests;
    private volatile bool _completedRequest;

    internal TrackedConnection(ConnectionContext context, string listener, IPAddress? address, TimeSpan idleTimeout, TimeProvider time)
    {
        _context = context;
        Listener = listener;
        Address = address;
        IdleTimeout = idleTimeout;
        ConnectedAt = time.GetUtcNow();
        _lastActivityTimestamp = _lastRequestTimestamp = time.GetTimestamp();
    }

    /// <summary>Kestrel's connection id, the one in log lines.</summary>
    public string Id => _context.ConnectionId;

    /// <summary>The listener ("modbus").</summary>
    public string Listener { get; }

    /// <summary>The peer.</summary>
    public EndPoint? RemoteEndPoint => _context.RemoteEndPoint;

    /// <summary>The peer's IP address as the per-address limit counts it (<see cref="RemoteAddress"/>); null without one.</summary>
    internal IPAddress? Address { get; }

    /// <summary>When the connection was admitted.</summary>
    public DateTimeOffset ConnectedAt { get; }

    /// <summary>Silence after which the connection is closed; zero: never.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last complete frame received (or of the admission).</summary>
    public long LastActivityTimestamp => Volatile.Read(ref _lastActivityTimestamp);

    /// <summary>True once the peer completed a request; until then <see cref="LastRequestTimestamp"/> is the admission's.</summary>
    public bool CompletedRequest => _completedRequest;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the batch holding the last complete request (or of the admission).</summary>
    public long LastRequestTimestamp => Volatile.Read(ref _lastRequestTimestamp);

    /// <summary>For an MCP connection, the client on the other end, to call it (docs/protocol.md: both directions may send REQ); else null.</summary>
    public IMcpPeer? Peer { get; internal set; }

    /// <summary>For an MCP connection, its id, peer and bound session; else null.</summary>
    internal IMcpConnectionFeature? Mcp => _context.Features.Get<IMcpConnectionFeature>();

    /// <summary>Records that complete frames arrived now, and a request among them if <see cref="RequestRead"/> said so.</summary>
    public void Touch(TimeProvider time)
    {
        var now = time.GetTimestamp();
        Volatile.Write(ref _lastActivityTimestamp, now);
        if (_requestRead)
        {
            // One timestamp per batch, not per request: the read loop touches once after answering a batch.
            // The timestamp before the flag: a reader that sees CompletedRequest sees its timestamp too.
            _requestRead = false;
            Volatile.Write(ref _lastRequestTimestamp, now);
            _completedRequest = true;
        }
    }

    /// <summary>A complete request was read; the <see cref="Touch"/> that ends its batch stamps it.</summary>
    internal void RequestRead()
    {
        _requestRead = true;
        Volatile.Write(ref _requests, _requests + 1);
    }

    /// <summary>Complete requests read on this connection so far.</summary>
    public long Requests => Volatile.Read(ref _requests);


    /// <summary>
    /// Cancelled when nobody is left to answer this connection's requests: the transport was reset or aborted, a write
    /// failed, or mcpd closed the connection (idle, evicted, shut down). Not at a half-close: a peer that sent FIN
    /// may still read, so the requests it sent before run to their answers (<see cref="BaseConnectionContext.ConnectionClosed"/>
    /// fires at FIN on both transports, which is why it is not the token for request work).
    /// </summary>
    internal CancellationToken RequestsAborted => _requestsAborted.Token;

    /// <summary>Cancels <see cref="RequestsAborted"/>; the connection's own close follows.</summary>
    internal void AbortRequests() => _requestsAborted.Cancel();

    /// <summary>Closes the connection and cancels its requests; its handler sees the transport end and returns.</summary>
    public void Abort(string reason)
    {
        AbortRequests();
        _context.Abort(new ConnectionAbortedException(reason));
    }
}
