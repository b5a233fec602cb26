using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>
/// The session methods (docs/sessions.md): <c>session.open</c>, <c>session.resume</c>, <c>session.close</c>,
/// <c>session.get</c>, <c>session.set</c>, and <c>device.call</c>, which reaches the live connection of another
/// session through whichever node holds it. Every store failure is answered UNAVAILABLE with a log line.
/// </summary>
/// <remarks>
/// Invariant: a request that names a session with an owner (<see cref="SessionOwner"/>) acts on it only when its
/// connection opened or resumed that session, or proves the owner (the same certificate principal; at
/// <c>session.resume</c>, the same client id and token); the owner is checked before the session is touched, so a
/// refused request changes nothing, not even the expiry. A refusal is UNAUTHORIZED, logged within a budget.
/// </remarks>
internal sealed class SessionService(
    ISessionStore store, ISessionAuthenticator authenticator, ClusterNode cluster, ConnectionRegistry connections,
    SessionOpenLimiter openLimiter, IOptionsMonitor<SessionsOptions> options, McpdMetrics metrics, TimeProvider time, ILogger<SessionService> logger)
{
    public const string Open = "session.open";
    public const string Resume = "session.resume";
    public const string Close = "session.close";
    public const string Get = "session.get";
    public const string Set = "session.set";
    public const string DeviceCall = "device.call";

    /// <summary>Names the session of a request.</summary>
    public const string SessionHeader = "session";

    /// <summary>The context key of session.get / session.set.</summary>
    public const string KeyHeader = "key";

    /// <summary>device.call: the session whose live connection is called.</summary>
    public const string TargetSessionHeader = "target-session";

    /// <summary>device.call: instead of <see cref="TargetSessionHeader"/>, the client id whose session is called (the clientId index).</summary>
    public const string TargetClientHeader = "target-client";

    /// <summary>device.call: the method called on that connection.</summary>
    public const string TargetMethodHeader = "target-method";

    /// <summary>
    /// device.call forwarded by another node: what it read, "session epoch connection incarnation node"
    /// (<see cref="ForwardedBinding"/>). The receiving node delivers the call to that connection of that incarnation,
    /// holding the session at that epoch or a newer one, or answers UNAVAILABLE; it never forwards it again.
    /// </summary>
    public const string ExpectedBindingHeader = "mcpd-binding";

    /// <summary>
    /// The one-way message a connection gets when a newer connection took its session over (docs/sessions.md, "One
    /// owner"), header <c>session</c>: the connection no longer holds the session.
    /// </summary>
    public const string Taken = "session.taken";

    /// <summary>
    /// Node to node (docs/sessions.md, "One owner"): one-way, tells the node of a session's previous connection that the
    /// session was taken over; headers <see cref="TakenSessionHeader"/> and <see cref="TakenConnectionHeader"/>.
    /// </summary>
    public const string TakenOnNode = "mcpd.session.taken";

    public const string TakenSessionHeader = "taken-session";

    public const string TakenConnectionHeader = "taken-connection";

    public static ReadOnlySpan<byte> SessionHeaderUtf8 => "session"u8;

    public static ReadOnlySpan<byte> KeyHeaderUtf8 => "key"u8;

    /// <summary>The answer to a request refused for want of the owner's proof: the same for every kind of owner.</summary>
    private const string NotOwner = "this session may be used only by the client that opened it: resume it with the same client certificate, or with the clientId and token it was opened with";

    /// <summary>Refusals are caused by peers: a flood of them writes a few lines.</summary>
    private readonly LogThrottle _refusals = new("refused session use", time, logger);

    private readonly CallsInFlight _callsInFlight = new();

    public ISessionStore Store => store;

    /// <summary>Methods that read the <c>session</c> header themselves, and check its owner before they act on it.</summary>
    public static bool ChecksItsOwnSession(ReadOnlySpan<char> method) => method is Resume or Close or Get or Set;

    /// <summary>The handler of a session method, or null.</summary>
    public McpRequestHandler? HandlerOf(ReadOnlySpan<char> method) => method switch
    {
        Open => OpenAsync,
        Resume => ResumeAsync,
        Close => CloseAsync,
        Get => GetAsync,
        Set => SetAsync,
        DeviceCall => DeviceCallAsync,
        TakenOnNode => TakenOnNodeAsync,
        _ => null,
    };

    /// <summary>The answer to a read that found no value: the session is gone, or the key is not set.</summary>
    public static McpReply Refusal(SessionRead read, ReadOnlySpan<char> key) => read.SessionFound
        ? McpReply.Error(McpStatus.NotFound, $"the session has no key '{key}'")
        : Expired();

    /// <summary>Forgets the live connection of a session whose connection closed (unless a newer one took over); never throws.</summary>
    public async Task ReleaseAsync(string sessionId, string connectionId)
    {
        try
        {
            await store.UnbindAsync(sessionId, cluster.BindingOf(connectionId), CancellationToken.None);
        }
        catch (SessionStoreUnavailableException ex)
        {
            // The binding stays until the session expires; device.call then finds the connection gone.
            SessionLog.StoreUnavailable(logger, store.Kind, "-", ex.Message);
        }
    }

    /// <summary>
    /// Checks the owner of the session <paramref name="request"/> names (its <c>session</c> header) and extends it; the
    /// handle, or the refusal to answer with.
    /// </summary>
    public async ValueTask<(ISessionState? Session, McpReply? Refusal)> OpenHandleAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        var sessionId = request.Header(SessionHeader)!;
        var epoch = BoundEpoch(ConnectionOf(request), sessionId);
        ClaimIndexIfDue(request, sessionId);
        try
        {
            if (await CheckOwnerAsync(request, sessionId, cancellationToken) is { } refusal)
            {
                return (null, refusal);
            }

            // A connection already told it lost the session is refused without touching it: its requests must not keep
            // alive a session it no longer holds. (Before it is told, the touch below extends the session once more.)
            if (ConnectionOf(request)?.BoundSession is SessionHandle { IsLost: true } lost && lost.Id == sessionId)
            {
                return (null, LostTo(request, new SessionTakenOverException(sessionId)));
            }

            return await store.TouchAsync(sessionId, cancellationToken) switch
            {
                null => (null, Expired()),
                { } session when epoch != 0 && session.Epoch != epoch => (null, LostTo(request, new SessionTakenOverException(sessionId))),
                _ => (new SessionHandle(store, sessionId, epoch), null),
            };
        }
        catch (SessionStoreUnavailableException ex)
        {
            return (null, Unavailable(ex, request.TraceId));
        }
    }

    /// <summary>
    /// The epoch with which the connection of a request is bound to <paramref name="sessionId"/> (it opened or resumed
    /// that session, so it proved the owner then); 0 when it is not bound to it.
    /// </summary>
    public static long BoundEpoch(IMcpConnectionFeature? connection, ReadOnlySpan<char> sessionId) =>
        connection?.BoundSession is SessionHandle bound && sessionId.SequenceEqual(bound.Id) ? bound.Epoch : 0;

    private async ValueTask<McpReply> OpenAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (!TryReadOpenRequest(request.Body, settings, out var clientId, out var token, out var ttl, out var problem))
        {
            return McpReply.Error(McpStatus.BadRequest, problem);
        }

        if (!await authenticator.AuthenticateAsync(clientId, token, cancellationToken))
        {
            SessionLog.Unauthorized(logger, clientId, request.TraceId);
            return McpReply.Error(McpStatus.Unauthorized, "wrong or missing token for this client id");
        }

        if (openLimiter.TryTake(ConnectionOf(request)?.Id, RemoteAddress.Of(ConnectionOf(request)?.RemoteEndPoint)) is { } refusal)
        {
            return McpReply.Error(McpStatus.Overloaded, refusal);
        }

        var owner = SessionOwner.Of(McpConnection.AuthorizationOf(request)?.Identity, clientId, token);
        var session = new SessionInfo(SessionIds.New(), clientId, ttl, time.GetUtcNow(), Owner: owner);
        return await Guard(request, async () =>
        {
            if (!await store.CreateAsync(session, cancellationToken))
            {
                return McpReply.Error(McpStatus.Overloaded, "the session store is full");
            }

            if (await ClaimClientIdAsync(request, session, token, settings.OnClientIdInUse == ClientIdInUse.Refuse, cancellationToken) is { } inUse)
            {
                await store.DeleteAsync(session.Id, epoch: 0, cancellationToken);
                return inUse;
            }

            await BindAsync(request, session, cancellationToken);
            SessionLog.Opened(logger, session.Id, clientId, ConnectionOf(request)?.Id ?? "", ttl);
            return Describe(session);
        });
    }

    /// <summary>
    /// session.resume: binds this connection to the session named by header <c>session</c>. A session with an owner
    /// needs its proof, even on a connection bound to it: this connection's certificate principal, or the body's
    /// <c>clientId</c> and <c>token</c> (<c>{"clientId":"plc-7","token":"..."}</c>; a session without an owner needs no body).
    /// </summary>
    private async ValueTask<McpReply> ResumeAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        if (request.Header(SessionHeader) is not { } sessionId)
        {
            return NeedsSessionHeader(request);
        }

        if (!TryReadResumeRequest(request.Body, out var clientId, out var token))
        {
            return McpReply.Error(McpStatus.BadRequest, "session.resume takes no body, or a JSON object {\"clientId\":\"...\",\"token\":\"...\"} of UTF-8 strings");
        }

        return await Guard(request, async () =>
        {
            if (await store.FindAsync(sessionId, cancellationToken) is not { } session)
            {
                return Expired();
            }

            if (!await ProvesOwnerAsync(request, session, clientId, token, cancellationToken))
            {
                return Refuse(request, sessionId);
            }

            if (!await BindAsync(request, session, cancellationToken))
            {
                return Expired();
            }

            await store.ClaimClientAsync(session.ClientId, sessionId, session.Ttl, ifCurrent: sessionId, cancellationToken);

            SessionLog.Resumed(logger, sessionId, ConnectionOf(request)?.Id ?? "");
            return Describe(session);
        });
    }

    private ValueTask<McpReply> CloseAsync(McpIncomingRequest request, CancellationToken cancellationToken) =>
        WithSession(request, async (sessionId, epoch) =>
        {
            if (!await store.DeleteAsync(sessionId, epoch, cancellationToken))
            {
                return Expired();
            }

            ConnectionOf(request)?.Unbind(sessionId);
            SessionLog.Closed(logger, sessionId);
            return McpReply.Ok();
        }, cancellationToken);

    /// <summary>
    /// session.get: header <c>key</c> reads one value (the body); without it, the whole context as a JSON object.
    /// </summary>
    private ValueTask<McpReply> GetAsync(McpIncomingRequest request, CancellationToken cancellationToken) =>
        WithSession(request, async (sessionId, epoch) =>
        {
            if (request.Header(KeyHeader) is { } key)
            {
                var read = await store.GetValueAsync(sessionId, key, epoch, cancellationToken);
                return read.Value is null ? Refusal(read, key) : McpReply.Ok(read.Value);
            }

            return await store.GetAllAsync(sessionId, epoch, cancellationToken) is { } all
                ? McpReply.Ok(JsonSerializer.SerializeToUtf8Bytes(all))
                : Expired();
        }, cancellationToken);

    /// <summary>
    /// session.set: header <c>key</c> sets that key to the body (UTF-8); without it, the body is a JSON object of
    /// string values to set. An empty value removes its key.
    /// </summary>
    private ValueTask<McpReply> SetAsync(McpIncomingRequest request, CancellationToken cancellationToken) =>
        WithSession(request, async (sessionId, epoch) =>
        {
            IReadOnlyList<KeyValuePair<string, string>> values;
            if (request.Header(KeyHeader) is { } key)
            {
                // Values are text, stored and returned byte for byte: bytes that are not UTF-8 would come back changed.
                if (!System.Text.Unicode.Utf8.IsValid(request.Body.Span))
                {
                    return McpReply.Error(McpStatus.BadRequest, "session values are UTF-8 text, and the body is not valid UTF-8");
                }

                values = [new(key, Encoding.UTF8.GetString(request.Body.Span))];
            }
            else if (!TryReadValues(request.Body, out values, out var problem))
            {
                return McpReply.Error(McpStatus.BadRequest, problem);
            }

            var write = await store.SetValuesAsync(sessionId, values, epoch, cancellationToken);
            return write.Status switch
            {
                SessionWriteStatus.Written => McpReply.Ok(),
                SessionWriteStatus.NoSession => Expired(),
                SessionWriteStatus.TooLarge => McpReply.Error(McpStatus.BadRequest, write.Problem!),
                _ => McpReply.Error(McpStatus.Overloaded, write.Problem!),
            };
        }, cancellationToken);

    /// <summary>
    /// device.call: calls <c>target-method</c> on the live connection of session <c>target-session</c> (or of the
    /// session of client id <c>target-client</c>), here or through the node that holds it; its answer comes back unchanged.
    /// </summary>
    /// <remarks>
    /// Invariant: a call reaches only the connection the session is bound to, in the incarnation that bound it. A
    /// binding of another incarnation (the node restarted since) is dead and answered UNAVAILABLE at once; a forwarded
    /// call names the binding it was sent for (<see cref="ExpectedBindingHeader"/>), and the receiving node checks
    /// it and never forwards again, so there is no forwarding loop.
    /// </remarks>
    private async ValueTask<McpReply> DeviceCallAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        if (request.Header(TargetMethodHeader) is not { } method)
        {
            return McpReply.Error(McpStatus.BadRequest, "device.call needs the header 'target-session' (or 'target-client') and 'target-method'");
        }

        if (request.Header(ExpectedBindingHeader) is { } expected)
        {
            return ForwardedBinding.TryParse(expected, out var forwarded)
                ? await InFlightLimitedAsync(forwarded.SessionId, () => CallForwardedAsync(request, forwarded, method, cancellationToken))
                : McpReply.Error(McpStatus.BadRequest, $"'{ExpectedBindingHeader}' must be \"session epoch connection incarnation node\"");
        }

        var (targetSession, targetClient) = (request.Header(TargetSessionHeader), request.Header(TargetClientHeader));
        if (targetSession is null && targetClient is null)
        {
            return McpReply.Error(McpStatus.BadRequest, "device.call needs the header 'target-session' (or 'target-client') and 'target-method'");
        }

        return await FindAndCallAsync(request, targetSession, targetClient, method, cancellationToken);
    }

    /// <summary>Runs <paramref name="call"/> unless <see cref="SessionsOptions.MaxCallsPerTarget"/> calls to <paramref name="target"/> are in flight here (OVERLOADED at once).</summary>
    private async Task<McpReply> InFlightLimitedAsync(string target, Func<Task<McpReply>> call)
    {
        var limit = options.CurrentValue.MaxCallsPerTarget;
        if (!_callsInFlight.TryEnter(target, limit))
        {
            return McpReply.Error(McpStatus.Overloaded, $"{limit} calls to the target session are in flight through node {cluster.NodeId} (sessions.maxCallsPerTarget)");
        }

        try
        {
            return await call();
        }
        finally
        {
            _callsInFlight.Exit(target);
        }
    }

    /// <summary>Reads the target session's binding and calls its connection, here or through the node that holds it.</summary>
    private async Task<McpReply> FindAndCallAsync(McpIncomingRequest request, string? targetSession, string? targetClient, string method, CancellationToken cancellationToken) =>
        await Guard(request, async () =>
        {
            targetSession ??= await store.GetClientSessionAsync(targetClient!, cancellationToken);
            if (targetSession is null || await store.TouchAsync(targetSession, cancellationToken) is not { } target || (targetClient is not null && target.ClientId != targetClient))
            {
                return McpReply.Error(McpStatus.SessionExpired, targetSession is null || targetClient is not null
                    ? $"client id '{targetClient}' has no live session"
                    : "the target session has expired or never existed");
            }

            // The call used the session: its clientId index entry lives as long (in the background, as a client's own use does).
            _ = ClaimQuietlyAsync(target);

            if (target.Binding is not { } binding)
            {
                return McpReply.Error(McpStatus.Unavailable, "the target session has no live connection");
            }

            // Counted by session, however the caller named it: a target-client and a target-session call share the limit.
            return await InFlightLimitedAsync(target.Id, () => CallBindingAsync(request, target, binding, method, cancellationToken));
        });

    /// <summary>Calls the connection of <paramref name="binding"/>: here, or through the node that holds it.</summary>
    private async Task<McpReply> CallBindingAsync(McpIncomingRequest request, SessionInfo target, SessionBinding binding, string method, CancellationToken cancellationToken)
    {
        if (binding.NodeId == cluster.NodeId)
        {
            return cluster.IsHere(binding)
                ? await CallLocalAsync(request, target.Id, target.Epoch, binding.ConnectionId, method, cancellationToken)
                : Restarted(binding.NodeId);
        }

        if (await store.GetNodeAsync(binding.NodeId, cancellationToken) is not { } node || !Mcpd.Client.HostPort.TryParse(node.Address, out _))
        {
            return McpReply.Error(McpStatus.Unavailable, $"node {binding.NodeId}, which held the target's connection, is gone");
        }

        if (node.Incarnation != binding.Incarnation)
        {
            return Restarted(binding.NodeId);
        }

        SessionLog.DeviceCallForwarded(logger, target.Id, method, binding.NodeId, node.Address, request.TraceId);
        var expectation = new KeyValuePair<string, string>(ExpectedBindingHeader, new ForwardedBinding(target.Id, target.Epoch, binding).ToString());
        var started = time.GetTimestamp();
        var answer = await cluster.PeerAt(binding.NodeId, node).SendAsync(request, expectation, cancellationToken);
        metrics.Forwarded(binding.NodeId, answer.Status, time.GetElapsedTime(started));
        return answer;
    }

    /// <summary>
    /// A device.call another node forwarded here for <paramref name="forwarded"/>: delivered only if its binding names
    /// this process and, read again from the store now (the call may have waited since the other node read it), the
    /// session is still bound to that connection and the connection holds it at the session's current epoch; never
    /// forwarded again. The header alone proves nothing: any client can send it.
    /// </summary>
    private async Task<McpReply> CallForwardedAsync(McpIncomingRequest request, ForwardedBinding forwarded, string method, CancellationToken cancellationToken)
    {
        if (!cluster.IsHere(forwarded.Binding))
        {
            return Restarted(forwarded.Binding.NodeId);
        }

        return await Guard(request, async () =>
            await store.FindAsync(forwarded.SessionId, cancellationToken) is { } session && session.Binding == forwarded.Binding
                ? await CallLocalAsync(request, session.Id, session.Epoch, forwarded.Binding.ConnectionId, method, cancellationToken)
                : McpReply.Error(McpStatus.Unavailable, "the target session's connection has closed"));
    }

    private static McpReply Restarted(string nodeId) => McpReply.Error(
        McpStatus.Unavailable, $"node {nodeId} restarted since the target session's connection was made there: that connection is gone");

    /// <summary>
    /// Calls connection <paramref name="connectionId"/> of this process, passing on the caller's headers and trace
    /// context, only while it holds session <paramref name="sessionId"/> with epoch <paramref name="epoch"/> or a newer
    /// one: never a connection that lost the session.
    /// </summary>
    private async Task<McpReply> CallLocalAsync(McpIncomingRequest request, string sessionId, long epoch, string connectionId, string method, CancellationToken cancellationToken)
    {
        if (connections.Find(connectionId)?.Peer is not { } peer
            || peer is IMcpConnectionFeature { BoundSession: SessionHandle { IsLost: true } }
            || BoundEpoch(peer as IMcpConnectionFeature, sessionId) is var bound && (bound == 0 || bound < epoch))
        {
            return McpReply.Error(McpStatus.Unavailable, "the target session's connection has closed");
        }

        // The deadline stays among the headers: the device may drop work that can no longer be answered in time too.
        var headers = request.Headers.Where(h => h.Key is not (TargetSessionHeader or TargetClientHeader or TargetMethodHeader or SessionHeader or ExpectedBindingHeader or ForwardNode.HopsHeader)).ToList();
        ForwardNode.AddTraceParentIfMissing(headers, request);
        var remaining = McpDeadline.Of(request) - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return McpDeadline.Passed("the target session's connection was called");
        }

        using var expiry = remaining is { } left ? new CancellationTokenSource(left, time) : null;
        using var answerBy = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry?.Token ?? CancellationToken.None);
        try
        {
            return McpReply.From(await peer.CallAsync(method, request.Body, headers, answerBy.Token));
        }
        catch (TimeoutException ex)
        {
            return McpReply.Error(McpStatus.Timeout, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return McpReply.Error(McpStatus.Timeout, "the target session's connection did not answer by the caller's deadline");
        }
        catch (IOException ex)
        {
            return McpReply.Error(McpStatus.Unavailable, $"the target session's connection failed: {ex.Message}");
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the session of header <c>session</c>, once its owner is checked, with the epoch
    /// that fences its store operations (<see cref="BoundEpoch"/>).
    /// </summary>
    private async ValueTask<McpReply> WithSession(McpIncomingRequest request, Func<string, long, Task<McpReply>> action, CancellationToken cancellationToken)
    {
        if (request.Header(SessionHeader) is not { } sessionId)
        {
            return NeedsSessionHeader(request);
        }

        ClaimIndexIfDue(request, sessionId);
        return await Guard(request, async () => await CheckOwnerAsync(request, sessionId, cancellationToken) ?? await action(sessionId, BoundEpoch(ConnectionOf(request), sessionId)));
    }

    private static McpReply NeedsSessionHeader(McpIncomingRequest request) =>
        McpReply.Error(McpStatus.BadRequest, $"{request.Method} needs a 'session' header");

    /// <summary>
    /// Null when <paramref name="request"/> may act on <paramref name="sessionId"/>: its connection is bound to it (no
    /// store round trip), or the session has no owner, or the connection's certificate proves it. Else the refusal;
    /// SESSION_EXPIRED when there is no such session. Touches nothing.
    /// </summary>
    private async Task<McpReply?> CheckOwnerAsync(McpIncomingRequest request, string sessionId, CancellationToken cancellationToken)
    {
        if (BoundEpoch(ConnectionOf(request), sessionId) != 0)
        {
            return null;
        }

        if (await store.FindAsync(sessionId, cancellationToken) is not { } session)
        {
            return Expired();
        }

        return await ProvesOwnerAsync(request, session, clientId: null, token: null, cancellationToken) ? null : Refuse(request, sessionId);
    }

    /// <summary>
    /// True when <paramref name="request"/> may act on <paramref name="session"/>: it has no owner, or the connection's
    /// certificate or the presented <paramref name="clientId"/> and <paramref name="token"/> prove the owner. A token
    /// must also still open sessions (<see cref="ISessionAuthenticator"/>), so a token taken out of
    /// <c>sessions.tokens</c> no longer resumes the sessions it opened.
    /// </summary>
    private async Task<bool> ProvesOwnerAsync(McpIncomingRequest request, SessionInfo session, string? clientId, string? token, CancellationToken cancellationToken)
    {
        if (session.Owner is not { } owner)
        {
            return true;
        }

        return owner.IsProvenBy(McpConnection.AuthorizationOf(request)?.Identity, clientId, token)
            && (!owner.IsToken || await authenticator.AuthenticateAsync(clientId!, token, cancellationToken));
    }

    private McpReply Refuse(McpIncomingRequest request, string sessionId)
    {
        if (_refusals.ShouldLog())
        {
            var identity = McpConnection.AuthorizationOf(request)?.Identity;
            var caller = $"{identity?.ToString() ?? "a client without a certificate"} at {ConnectionOf(request)?.RemoteEndPoint}";
            SessionLog.NotOwner(logger, request.Method, sessionId, caller, request.TraceId);
        }

        return McpReply.Error(McpStatus.Unauthorized, NotOwner);
    }

    private async ValueTask<McpReply> Guard(McpIncomingRequest request, Func<Task<McpReply>> action)
    {
        try
        {
            return await action();
        }
        catch (SessionStoreUnavailableException ex)
        {
            return Unavailable(ex, request.TraceId);
        }
        catch (SessionTakenOverException ex)
        {
            return LostTo(request, ex);
        }
    }

    /// <summary>
    /// The connection of <paramref name="request"/> acted on a session another connection has taken over: the answer
    /// is SESSION_EXPIRED, saying why, and the connection's handle is marked lost (it was not told yet, or it would be).
    /// </summary>
    private McpReply LostTo(McpIncomingRequest request, SessionTakenOverException takenOver)
    {
        if (ConnectionOf(request) is { BoundSession: SessionHandle held } && held.Id == takenOver.SessionId && held.MarkLost())
        {
            metrics.SessionTakenOver();
        }

        return McpReply.Error(McpStatus.SessionExpired, TakenOverMessage);
    }

    /// <summary>
    /// Binds the connection of <paramref name="request"/> to the session as its one owner (a new epoch); the connection
    /// that held it before, on this node or another, is told that it lost it. False when the session is gone.
    /// </summary>
    private async Task<bool> BindAsync(McpIncomingRequest request, SessionInfo session, CancellationToken cancellationToken)
    {
        var (binding, sessionId) = (Binding(request), session.Id);
        if (await store.BindAsync(sessionId, binding, cancellationToken) is not { } bound)
        {
            return false;
        }

        ConnectionOf(request)?.Bind(new SessionHandle(store, sessionId, bound.Epoch) { Bound = session, IndexClaimedAt = time.GetTimestamp() });
        if (bound.Previous is { } previous && previous != binding)
        {
            _ = TellPreviousOwnerAsync(sessionId, previous, request);
        }

        return true;
    }

    /// <summary>
    /// Makes <paramref name="session"/> the one session of its client id (the clientId index). Another live session of
    /// that client id is closed and its connection told (takeover), or the open is refused (<paramref name="refuse"/>);
    /// a live session whose owner this open does not prove is never taken over. Null, or the refusal.
    /// </summary>
    private async Task<McpReply?> ClaimClientIdAsync(McpIncomingRequest request, SessionInfo session, string? token, bool refuse, CancellationToken cancellationToken)
    {
        var clientId = session.ClientId;
        var claim = await store.ClaimClientAsync(clientId, session.Id, session.Ttl, refuse ? session.Id : null, cancellationToken);
        // Refuse: the entry named another session; claim it only if that one has ended (and nobody claimed it meanwhile).
        for (var attempt = 0; !claim.Claimed && attempt < 3 && await LiveSessionAsync(claim.Previous!, clientId, cancellationToken) is null; attempt++)
        {
            claim = await store.ClaimClientAsync(clientId, session.Id, session.Ttl, claim.Previous, cancellationToken);
        }

        if (!claim.Claimed)
        {
            return McpReply.Error(McpStatus.Forbidden, $"client id '{clientId}' already has a live session (sessions.onClientIdInUse is refuse): resume that session, or close it first");
        }

        if (claim.Previous is not { } previous || previous == session.Id || await LiveSessionAsync(previous, clientId, cancellationToken) is not { } old)
        {
            return null;
        }

        if (!await ProvesOwnerAsync(request, old, clientId, token, cancellationToken))
        {
            // Give the entry back: a client that cannot prove the old session's owner does not throw it out.
            await store.ClaimClientAsync(clientId, previous, old.Ttl, ifCurrent: session.Id, cancellationToken);
            return Refuse(request, previous);
        }

        if (await store.DeleteAsync(previous, epoch: 0, cancellationToken) && old.Binding is { } binding)
        {
            _ = TellPreviousOwnerAsync(previous, binding, request);
        }

        return null;
    }

    /// <summary>The session <paramref name="sessionId"/> when it lives and belongs to <paramref name="clientId"/>.</summary>
    private async Task<SessionInfo?> LiveSessionAsync(string sessionId, string clientId, CancellationToken cancellationToken) =>
        await store.FindAsync(sessionId, cancellationToken) is { } session && session.ClientId == clientId ? session : null;

    /// <summary>
    /// Claims the clientId index entry of the session this request's connection holds again, when a third of its TTL has
    /// passed since the last claim (<see cref="SessionHandle.IndexClaimDue"/>); in the background, and a failure changes
    /// nothing until the next claim.
    /// </summary>
    private void ClaimIndexIfDue(McpIncomingRequest request, string sessionId)
    {
        if (ConnectionOf(request)?.BoundSession is SessionHandle { Bound: { } session } held && held.Id == sessionId && held.IndexClaimDue(time))
        {
            _ = ClaimQuietlyAsync(session);
        }
    }

    private async Task ClaimQuietlyAsync(SessionInfo session)
    {
        try
        {
            await store.ClaimClientAsync(session.ClientId, session.Id, session.Ttl, ifCurrent: session.Id, CancellationToken.None);
        }
        catch (SessionStoreUnavailableException ex)
        {
            SessionLog.StoreUnavailable(logger, store.Kind, "-", ex.Message);
        }
    }

    /// <summary>
    /// Tells the connection of <paramref name="previous"/> that it lost the session: here, or through its node
    /// (<see cref="TakenOnNode"/>). Never throws; a message that cannot be delivered changes nothing that matters, as
    /// the store refuses a stale connection's use of the session by itself.
    /// </summary>
    private async Task TellPreviousOwnerAsync(string sessionId, SessionBinding previous, McpIncomingRequest request)
    {
        // Off the request's path: with a store that answers at once, the request still runs inside its connection's
        // read loop, and the previous owner may be that very connection, whose writer the loop holds.
        await Task.Yield();
        try
        {
            if (previous.NodeId == cluster.NodeId)
            {
                // A binding of an earlier run of this node names a connection that is gone.
                if (cluster.IsHere(previous))
                {
                    await TellLocalAsync(sessionId, previous.ConnectionId, CancellationToken.None);
                }

                return;
            }

            if (await store.GetNodeAsync(previous.NodeId, CancellationToken.None) is not { } node || node.Incarnation != previous.Incarnation
                || !Mcpd.Client.HostPort.TryParse(node.Address, out _))
            {
                // The node is gone or restarted since, and the connection with it.
                return;
            }

            var message = new McpIncomingRequest(TakenOnNode, [new(TakenSessionHeader, sessionId), new(TakenConnectionHeader, previous.ConnectionId)], default, isOneWay: true, request.Peer, request.TraceId);
            var told = await cluster.PeerAt(previous.NodeId, node).SendAsync(message, CancellationToken.None);
            if (told.Status != McpStatus.Ok)
            {
                SessionLog.TellFailed(logger, sessionId, previous.NodeId, previous.ConnectionId, $"{told.Status}");
            }
        }
        catch (SessionStoreUnavailableException ex)
        {
            SessionLog.TellFailed(logger, sessionId, previous.NodeId, previous.ConnectionId, ex.Message);
        }
    }

    /// <summary>
    /// mcpd.session.taken (node to node): tells this node's connection <c>taken-connection</c> that it lost session
    /// <c>taken-session</c>.
    /// </summary>
    private async ValueTask<McpReply> TakenOnNodeAsync(McpIncomingRequest request, CancellationToken cancellationToken)
    {
        if (request.Header(TakenSessionHeader) is not { } sessionId || request.Header(TakenConnectionHeader) is not { } connectionId)
        {
            return McpReply.Error(McpStatus.BadRequest, $"{TakenOnNode} needs the headers '{TakenSessionHeader}' and '{TakenConnectionHeader}'");
        }

        return await Guard(request, async () =>
        {
            await TellLocalAsync(sessionId, connectionId, cancellationToken);
            return McpReply.Ok();
        });
    }

    /// <summary>
    /// Marks the session's handle on connection <paramref name="connectionId"/> of this node lost and sends the
    /// connection <see cref="Taken"/>, if it holds the session with an epoch older than the store's: only a connection
    /// that really lost the session is told, so a forged <see cref="TakenOnNode"/> changes nothing. The stale handle
    /// stays bound: the store refuses its every use until the connection resumes the session.
    /// </summary>
    private async Task TellLocalAsync(string sessionId, string connectionId, CancellationToken cancellationToken)
    {
        if (connections.Find(connectionId)?.Peer is not { } peer || peer is not IMcpConnectionFeature { BoundSession: SessionHandle held } || held.Id != sessionId)
        {
            return;
        }

        if (await store.FindAsync(sessionId, cancellationToken) is { } session && session.Epoch <= held.Epoch)
        {
            return;
        }

        // The connection may have resumed the session again meanwhile (a newer handle): then it owns it, and is not told.
        if (!ReferenceEquals(((IMcpConnectionFeature)peer).BoundSession, held))
        {
            return;
        }

        if (held.MarkLost())
        {
            metrics.SessionTakenOver();
            try
            {
                var status = await peer.SendOneWayAsync(Taken, default, [new(SessionHeader, sessionId)], cancellationToken);
                SessionLog.TakenOver(logger, sessionId, connectionId, $"told: {status}");
            }
            catch (Exception ex) when (ex is TimeoutException or IOException)
            {
                SessionLog.TakenOver(logger, sessionId, connectionId, $"not told: {ex.Message}");
            }
        }
    }

    private SessionBinding Binding(McpIncomingRequest request) => cluster.BindingOf(ConnectionOf(request)?.Id ?? "");

    private static IMcpConnectionFeature? ConnectionOf(McpIncomingRequest request) => IMcpConnectionFeature.Of(request);

    private McpReply Unavailable(SessionStoreUnavailableException ex, string traceId)
    {
        SessionLog.StoreUnavailable(logger, store.Kind, traceId, ex.Message);
        return McpReply.Error(McpStatus.Unavailable, $"the session store is unavailable: {ex.Message}");
    }

    private static McpReply Expired() => McpReply.Error(McpStatus.SessionExpired, "the session has expired or never existed");

    /// <summary>The answer to a connection whose session a newer connection took over (SESSION_EXPIRED).</summary>
    private const string TakenOverMessage = "the session was taken over by another connection (a session.resume or session.open elsewhere): this connection no longer holds it; resume it to use it here again";

    private static McpReply Describe(SessionInfo session) => McpReply.Ok(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["sessionId"] = session.Id,
        ["clientId"] = session.ClientId,
        ["ttl"] = session.Ttl.TotalSeconds,
    }));

    private static bool TryReadOpenRequest(ReadOnlyMemory<byte> body, SessionsOptions settings, out string clientId, out string? token, out TimeSpan ttl, out string problem)
    {
        (clientId, token, ttl, problem) = ("", null, settings.DefaultTtl, "");
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("clientId", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } name)
            {
                problem = "session.open needs a JSON body with a non-empty string \"clientId\"";
                return false;
            }

            clientId = name;
            token = root.TryGetProperty("token", out var secret) && secret.ValueKind == JsonValueKind.String ? secret.GetString() : null;
            if (root.TryGetProperty("ttl", out var seconds))
            {
                if (seconds.ValueKind != JsonValueKind.Number || !seconds.TryGetDouble(out var value) || value <= 0 || value > settings.MaxTtl.TotalSeconds)
                {
                    problem = $"\"ttl\" must be a number of seconds above 0 and at most {settings.MaxTtl.TotalSeconds}";
                    return false;
                }

                ttl = TimeSpan.FromSeconds(value);
            }

            return true;
        }
        catch (JsonException ex)
        {
            problem = $"session.open needs a JSON body: {ex.Message}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json checks the UTF-8 of a string when it is read.
            problem = "session.open: \"clientId\" and \"token\" must be valid UTF-8";
            return false;
        }
    }

    /// <summary>
    /// The body of session.resume: empty, or a JSON object whose string properties <c>clientId</c> and <c>token</c>
    /// prove a token owner (other properties, such as those of the session.open body, are ignored); false when it is
    /// neither.
    /// </summary>
    private static bool TryReadResumeRequest(ReadOnlyMemory<byte> body, out string? clientId, out string? token)
    {
        (clientId, token) = (null, null);
        if (body.IsEmpty)
        {
            return true;
        }

        try
        {
            var proof = JsonSerializer.Deserialize<ResumeProof>(body.Span);
            (clientId, token) = (proof?.ClientId, proof?.Token);
            return proof is not null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not a JSON object, a property that is no string, or a string that is not valid UTF-8.
            return false;
        }
    }

    private static bool TryReadValues(ReadOnlyMemory<byte> body, out IReadOnlyList<KeyValuePair<string, string>> values, out string problem)
    {
        values = [];
        problem = "session.set needs a 'key' header, or a JSON object of string values in the body";
        try
        {
            var parsed = JsonSerializer.Deserialize<Dictionary<string, string?>>(body.Span);
            if (parsed is null || parsed.Values.Any(v => v is null))
            {
                return false;
            }

            values = [.. parsed.Select(p => new KeyValuePair<string, string>(p.Key, p.Value!))];
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or a string that is not valid UTF-8.
            return false;
        }
    }

    /// <summary>The proof a session.resume may carry for a session opened with a token.</summary>
    private sealed record ResumeProof([property: JsonPropertyName("clientId")] string? ClientId, [property: JsonPropertyName("token")] string? Token);
}

/// <summary>
/// What a node read when it forwarded a device.call (header <see cref="SessionService.ExpectedBindingHeader"/>): the
/// target session, its epoch, and the binding of its connection, as "session epoch connection incarnation node" (the
/// node id last: it may hold spaces; session ids, epochs, connection ids and incarnations never do).
/// </summary>
internal readonly record struct ForwardedBinding(string SessionId, long Epoch, SessionBinding Binding)
{
    public static bool TryParse(string text, out ForwardedBinding forwarded)
    {
        var parts = text.Split(' ', 5);
        forwarded = default;
        if (parts.Length != 5 || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch))
        {
            return false;
        }

        forwarded = new ForwardedBinding(parts[0], epoch, new SessionBinding(parts[4], parts[3], parts[2]));
        return true;
    }

    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{SessionId} {Epoch} {Binding.ConnectionId} {Binding.Incarnation} {Binding.NodeId}");
}
