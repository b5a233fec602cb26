using System.Net;
using Mcpd.Client.Mcp;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Mcpd.Server.Connections;

/// <summary>
/// A live connection as the <see cref="ConnectionRegistry"/> sees it: who, since when, last heard from when, and when it
/// last completed a request. The protocol connections derive from it (the read loop, <c>ProtocolConnection</c>), so
/// the registry's entry is the connection itself: one object per connection, not two.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The requests' token source is never disposed, on purpose: see _requestsAborted.")]
public abstract class TrackedConnection
{
    /// <summary>
    /// Made the first time a request that may outlive its batch asks for <see cref="RequestsAborted"/>, or at
    /// <see cref="AbortRequests"/>: a connection served only synchronously (simulated devices, inline MCP methods) never
    /// has one. Never disposed: it has no timer, and a late <see cref="Abort"/> (the idle sweep racing the close) must
    /// still be able to cancel it.
    /// </summary>
    private CancellationTokenSource? _requestsAborted;
    /// <summary>When the connection was admitted, in UTC (8 bytes where a DateTimeOffset takes 16).</summary>
    private readonly DateTime _connectedAt;
    private long _lastActivityTimestamp;
    private long _lastRequestTimestamp;

    /// <summary>Set by <see cref="NoteRequest"/>, turned into <see cref="LastRequestTimestamp"/> by the next <see cref="Touch"/>.</summary>
    private volatile bool _requestRead;

    /// <summary>Complete requests read; only the connection's read loop writes it.</summary>
    private long _requests;
    private volatile bool _completedRequest;

    private protected TrackedConnection(ConnectionContext context, string listener, TimeSpan idleTimeout, TimeProvider time)
    {
        Context = context;
        Listener = listener;
        Address = RemoteAddress.Of(context.RemoteEndPoint);
        IdleTimeout = idleTimeout;
        _connectedAt = time.GetUtcNow().UtcDateTime;
        _lastActivityTimestamp = _lastRequestTimestamp = time.GetTimestamp();
    }

    /// <summary>Kestrel's connection id, the one in log lines.</summary>
    public string Id => Context.ConnectionId;

    /// <summary>The listener ("modbus").</summary>
    public string Listener { get; }

    /// <summary>The peer.</summary>
    public EndPoint? RemoteEndPoint => Context.RemoteEndPoint;

    /// <summary>The peer's IP address as the per-address limit counts it (<see cref="RemoteAddress"/>); null without one.</summary>
    internal IPAddress? Address { get; }

    /// <summary>When the connection was accepted.</summary>
    public DateTimeOffset ConnectedAt => new(_connectedAt);

    /// <summary>Silence after which the connection is closed; zero: never.</summary>
    public TimeSpan IdleTimeout { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last complete frame received (or of the admission).</summary>
    public long LastActivityTimestamp => Volatile.Read(ref _lastActivityTimestamp);

    /// <summary>True once the peer completed a request; until then <see cref="LastRequestTimestamp"/> is the admission's.</summary>
    public bool CompletedRequest => _completedRequest;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the batch holding the last complete request (or of the admission).</summary>
    public long LastRequestTimestamp => Volatile.Read(ref _lastRequestTimestamp);

    /// <summary>For an MCP connection, the client on the other end, to call it (docs/protocol.md: both directions may send REQ); else null.</summary>
    public IMcpPeer? Peer => this as IMcpPeer;

    /// <summary>For an MCP connection, its id, peer and bound session; else null.</summary>
    internal IMcpConnectionFeature? Mcp => this as IMcpConnectionFeature;

    /// <summary>The Kestrel connection.</summary>
    private protected ConnectionContext Context { get; }

    /// <summary>Records that complete frames arrived now, and a request among them if <see cref="NoteRequest"/> said so.</summary>
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
    private protected void NoteRequest()
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
    internal CancellationToken RequestsAborted => RequestsAbortedSource.Token;

    /// <summary>Cancels <see cref="RequestsAborted"/>; the connection's own close follows.</summary>
    internal void AbortRequests() => RequestsAbortedSource.Cancel();

    private CancellationTokenSource RequestsAbortedSource =>
        Volatile.Read(ref _requestsAborted) ?? Interlocked.CompareExchange(ref _requestsAborted, new CancellationTokenSource(), null) ?? _requestsAborted;

    /// <summary>
    /// From now on, Kestrel's request to close the connection (its graceful shutdown) cancels the read loop's pending
    /// read, so the loop answers what it has read and ends with the protocol's goodbye. Registered when the host
    /// begins to stop (<see cref="ConnectionRegistry"/>), before Kestrel asks, not for a connection's whole life: a
    /// registration costs about 150 bytes, and an idle connection would keep it.
    /// </summary>
    internal void WakeOnCloseRequest()
    {
        if (Context.Features.Get<IConnectionLifetimeNotificationFeature>() is { } lifetime)
        {
            // Never unregistered: it goes with Kestrel's token source when the connection ends, and a late call finds a
            // completed input, where cancelling a read does nothing.
            _ = lifetime.ConnectionClosedRequested.UnsafeRegister(static context => ((ConnectionContext)context!).Transport.Input.CancelPendingRead(), Context);
        }
    }

    /// <summary>Closes the connection and cancels its requests; its handler sees the transport end and returns.</summary>
    public void Abort(string reason)
    {
        AbortRequests();
        Context.Abort(new ConnectionAbortedException(reason));
    }
}
