using System.Buffers;
using System.Text;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Mcp;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Routing;

/// <summary>
/// Decides where each MCP request goes and runs it there (docs/routing.md). The fast paths answer on the read loop
/// without allocating: unrouted built-ins (<c>sys.echo</c>, <c>sys.info</c>, <c>modbus.pdu</c>) and <c>session.get</c>
/// on a store that answers at once. Anything else (a routing rule's target, a mapped handler, <c>routing.default</c>,
/// a request that names a session) takes its own copy and runs through <see cref="RouteTarget.InvokeAsync"/>,
/// answered in the batch when it completes at once, else later from an in-flight slot.
/// </summary>
internal sealed class McpDispatcher(McpRouter router, BuiltInMethods builtIns, SessionService sessions, McpServerInfo info, McpdMetrics metrics, McpdTracing tracing, TimeProvider time)
    : IMcpRequestDispatcher
{
    public TimeSpan OverloadBackoff => router.OverloadBackoff;

    public bool Dispatch(in ReadOnlySequence<byte> payload, bool atLimit, McpRequestAnswerer answerer)
    {
        var started = answerer.Connection.BatchStarted;
        var parse = McpPayload.ParseRequest(payload, out var request, out var id, out var problem);
        if (parse == McpParseStatus.Unreadable)
        {
            answerer.WriteConnectionError(McpStatus.BadRequest, problem!);
            return false;
        }

        if (parse == McpParseStatus.Malformed)
        {
            McpLog.RequestMalformed(answerer.Logger, answerer.Connection.Id, id, problem!);
            var oneWay = payload.Length > 4 && (payload.Slice(4, 1).FirstSpan[0] & (byte)McpRequestFlags.OneWay) != 0;
            answerer.AnswerError(new McpRequestStart(McpdMetrics.OtherMethod, started, null), id, oneWay, McpStatus.BadRequest, problem!, McpErrorBody.TraceIdOf(null));
            return true;
        }

        if (atLimit)
        {
            // Reading goes on at the limit only for the answers to the server's own calls (a handler holding a slot
            // may wait for one); a request that would need a slot is refused rather than left behind them.
            answerer.AnswerError(new McpRequestStart(McpdMetrics.OtherMethod, started, null), id, request.IsOneWay, McpStatus.Overloaded,
                $"the connection has {answerer.Connection.MaxInFlight} requests in flight", McpErrorBody.TraceIdOf(request.Headers[McpHeaderNames.TraceParent]));
            return true;
        }

        Span<byte> methodBuffer = stackalloc byte[byte.MaxValue];
        var methodBytes = request.Method.IsSingleSegment ? request.Method.FirstSpan : CopyTo(request.Method, methodBuffer);
        Span<char> methodChars = stackalloc char[byte.MaxValue];
        ReadOnlySpan<char> method = methodChars[..Encoding.UTF8.GetChars(methodBytes, methodChars)];
        // A span and the logging scope of its trace id only when a listener samples requests: reading headers allocates.
        var span = tracing.IsListening
            ? McpdTracing.StartMcpRequest(method, request.Headers[McpHeaderNames.TraceParent], request.Headers[McpdTracing.TraceStateHeader])
            : null;
        using var scope = span is null ? null : TraceScope.Begin(answerer.Logger, span.TraceId.ToHexString());
        var start = new McpRequestStart(metrics.MethodTag(method, served: BuiltInMethods.IsBuiltIn(method)), started, span);
        if (answerer.Connection.Authorization is { } authorization && !authorization.AllowsMethod(method))
        {
            answerer.AnswerError(start, request.Id, request.IsOneWay, McpStatus.Forbidden, authorization.Refusal($"call {method}"), start.TraceIdOf(request));
            return true;
        }

        if (!Run(request, method, start, answerer))
        {
            // The request answers later and owns its span; the read loop goes on outside it.
            McpdTracing.Detach(span);
        }

        return true;
    }

    /// <summary>Runs one parsed request; returns true when it was answered now, false when it answers later (in flight).</summary>
    private bool Run(in McpRequest request, ReadOnlySpan<char> method, McpRequestStart start, McpRequestAnswerer answerer)
    {
        // A request another node forwarded, read after its caller's deadline (this node was stopped or overloaded):
        // its caller has been told TIMEOUT already, so it must not run.
        if (McpDeadline.HasPassed(request.Headers, time))
        {
            answerer.AnswerError(start, request.Id, request.IsOneWay, McpStatus.Timeout, McpDeadline.PassedOnArrival, start.TraceIdOf(request));
            return true;
        }

        var table = router.Table;
        var routed = table.Match(method, request.Headers);
        var namesSession = request.Headers.TryFind(SessionService.SessionHeaderUtf8, out _);
        if (routed is null && !namesSession && TryAnswerInline(request, method, start, answerer, out var answeredNow))
        {
            return answeredNow;
        }

        if (routed is null && namesSession && method is SessionService.Get && TryGetSessionValueNow(request, start, answerer))
        {
            return true;
        }

        var target = routed ?? builtIns.TargetOf(method) ?? table.Default;
        if (target is null)
        {
            answerer.AnswerError(start, request.Id, request.IsOneWay, McpStatus.NotFound, $"no method '{method}'", start.TraceIdOf(request));
            return true;
        }

        start = start with { MethodTag = metrics.MethodTag(method, served: true) };
        if (!namesSession && target.TryAnswerUncopied(request, method, start, answerer, builtIns, out var answeredUncopied))
        {
            return answeredUncopied;
        }

        // The span's trace id is the request's: the same as the caller's traceparent when it sent one, else the span's new one.
        var bodyLength = (int)request.Body.Length;
        if (!answerer.TryHoldBody(start, request.Id, request.IsOneWay, bodyLength, start.TraceIdOf(request)))
        {
            return true;
        }

        var connection = answerer.Connection;
        var incoming = new McpIncomingRequest(new string(method), request.Headers.ToList(), request.Body.ToArray(), request.IsOneWay, connection, start.Span?.TraceId.ToHexString())
        {
            Session = connection.BoundSession,
        };
        // Every line logged while the request runs carries its trace id (the span's scope already does when there is one).
        using var scope = start.Span is null ? TraceScope.Begin(answerer.Logger, incoming.TraceId) : null;
        if (answerer.Logger.IsEnabled(LogLevel.Debug))
        {
            var targetText = target.ToString()!;
            McpLog.Dispatched(answerer.Logger, connection.Id, request.Id, incoming.Method, targetText);
        }

        var pending = RunAsync(incoming, target, namesSession && !SessionService.ChecksItsOwnSession(method), answerer);
        if (pending.IsCompleted)
        {
            // Synchronous handlers (and refusals) are answered inside the batch, without an in-flight slot.
            answerer.ReleaseBody(bodyLength);
            answerer.WriteReply(start, request.Id, request.IsOneWay, pending.Result, incoming.TraceId);
            return true;
        }

        answerer.AnswerLater(request.Id, incoming, pending, start);
        return false;
    }

    /// <summary>The built-in methods, answered on the spot without allocating when no rule routes them and no session is named.</summary>
    private bool TryAnswerInline(in McpRequest request, ReadOnlySpan<char> method, in McpRequestStart start, McpRequestAnswerer answerer, out bool answeredNow)
    {
        answeredNow = true;
        switch (method)
        {
            case BuiltInMethods.Echo:
                answerer.WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, request.Body);
                return true;
            case BuiltInMethods.Info:
                answerer.WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, new ReadOnlySequence<byte>(info.ToJson(answerer.Now)));
                return true;
            case BuiltInMethods.ModbusPdu:
                var modbusPdu = builtIns.ModbusPduMethod;
                answeredNow = modbusPdu.Answer(request, modbusPdu.Resolve(request.Headers, out var headerProblem), headerProblem, answerer, start);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// session.get on a store that answers at once (in memory): the session id and key are decoded on the stack and
    /// the value is written straight into the output, so the read allocates nothing (docs/performance.md). A session
    /// with an owner is read here only on the connection bound to it; others take the slow path, which checks the owner.
    /// </summary>
    private bool TryGetSessionValueNow(in McpRequest request, in McpRequestStart start, McpRequestAnswerer answerer)
    {
        if (!request.Headers.TryFind(SessionService.SessionHeaderUtf8, out var sessionBytes) || sessionBytes.Length > SessionIds.Length
            || !request.Headers.TryFind(SessionService.KeyHeaderUtf8, out var keyBytes) || keyBytes.Length > byte.MaxValue)
        {
            return false;
        }

        Span<char> sessionId = stackalloc char[SessionIds.Length];
        Span<char> key = stackalloc char[byte.MaxValue];
        sessionId = sessionId[..Encoding.UTF8.GetChars(sessionBytes, sessionId)];
        key = key[..Encoding.UTF8.GetChars(keyBytes, key)];
        if (!sessions.Store.TryGetValueNow(sessionId, key, SessionService.BoundEpoch(answerer.Connection, sessionId), out var read))
        {
            return false;
        }

        if (read.Value is null)
        {
            answerer.WriteReply(start, request.Id, request.IsOneWay, SessionService.Refusal(read, key), start.TraceIdOf(request));
            return true;
        }

        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(read.Value.Length));
        var length = Encoding.UTF8.GetBytes(read.Value, rented);
        answerer.WriteAnswer(start, request.Id, request.IsOneWay, McpStatus.Ok, new ReadOnlySequence<byte>(rented, 0, length));
        ArrayPool<byte>.Shared.Return(rented);
        return true;
    }

    /// <summary>
    /// The slow path: when the request names a session, the session is checked and extended first (SESSION_EXPIRED,
    /// UNAUTHORIZED when the session has an owner the request does not prove, or UNAVAILABLE while the store is down);
    /// then the target runs it.
    /// </summary>
    private async ValueTask<McpReply?> RunAsync(McpIncomingRequest request, RouteTarget target, bool checkSession, McpRequestAnswerer answerer)
    {
        var requestsAborted = answerer.Connection.RequestsAborted;
        if (checkSession)
        {
            var (session, refusal) = await sessions.OpenHandleAsync(request, requestsAborted);
            if (session is null)
            {
                return refusal;
            }

            request.Session = session;
        }

        return await target.InvokeAsync(request, builtIns, answerer.Logger, requestsAborted);
    }

    public void ReleaseSession(ISessionState session, string connectionId) => _ = sessions.ReleaseAsync(session.Id, connectionId);

    private static ReadOnlySpan<byte> CopyTo(in ReadOnlySequence<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return destination[..(int)source.Length];
    }
}
