using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Writes what one MCP connection answers (docs/protocol.md): RESP to a request (ACK, status only, to a one-way one),
/// now inside the read loop's batch or later from an in-flight slot, and ERROR before a close. Every answer to a
/// request ends its measurement and span and feeds the connection's <see cref="OverloadBackoff"/>. What it uses besides
/// (metrics, budgets, clock, logger) it takes from its connection: one per connection, it keeps no more than it must.
/// </summary>
internal sealed class McpRequestAnswerer(McpConnection connection)
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private OverloadBackoff _backoff;

    /// <summary>How long the read loop waits before its next read (<see cref="OverloadBackoff"/>).</summary>
    public TimeSpan ReadPause => _backoff.Pause;

    /// <summary>
    /// Holds <paramref name="bodyLength"/> bytes of <see cref="RunningRequestBudget"/> for a request about to copy its
    /// body and run; when they do not fit, answers it OVERLOADED and returns false. A request held here is released
    /// by <see cref="ReleaseBody"/> once answered (<see cref="AnswerLater"/> does it for a request in flight).
    /// </summary>
    public bool TryHoldBody(in McpRequestStart start, uint id, bool oneWay, int bodyLength, string traceId)
    {
        if (connection.Services.RunningRequests.TryHold(bodyLength))
        {
            return true;
        }

        AnswerError(start, id, oneWay, McpStatus.Overloaded, $"requests still running hold {connection.Services.RunningRequests.InUse} bytes of bodies, the most of mcp.maxRunningRequestBytes ({connection.Services.RunningRequests.Limit}); retry when some are answered", traceId);
        return false;
    }

    /// <summary>Gives back what <see cref="TryHoldBody"/> held.</summary>
    public void ReleaseBody(int bodyLength) => connection.Services.RunningRequests.Release(bodyLength);

    /// <summary>The connection answered on.</summary>
    public McpConnection Connection => connection;

    /// <summary>The connection's logger: lines about its requests carry its category.</summary>
    public ILogger Logger => connection.Logger;

    public DateTimeOffset Now => connection.Services.Time.GetUtcNow();

    /// <summary>RESP for a request, ACK for a one-way one; ends the request.</summary>
    public void WriteAnswer(in McpRequestStart start, uint id, bool oneWay, McpStatus status, in ReadOnlySequence<byte> body)
    {
        if (oneWay)
        {
            McpPayload.WriteAck(connection.BeginFrame(), id, status);
        }
        else
        {
            McpPayload.WriteResponse(connection.BeginFrame(), id, status, NoHeaders, body);
        }

        Finish(start, connection.TryEndFrame() ? status : AnswerTooLarge(id, McpdTracing.TraceIdOf(start.Span, null)), connection.AnsweredTimestamp());
    }

    /// <summary>
    /// The answer of request <paramref name="id"/> did not fit the connection's framing (one CRC frame carries at most
    /// 65,535 bytes): it is answered FRAME_TOO_LARGE instead, and the connection goes on.
    /// </summary>
    private McpStatus AnswerTooLarge(uint id, string traceId)
    {
        var body = McpErrorBody.Create(McpStatus.FrameTooLarge, "the answer is larger than one CRC frame carries (65535 bytes); use the plain MCP port for large bodies", traceId, Now);
        McpPayload.WriteResponse(connection.BeginFrame(), id, McpStatus.FrameTooLarge, NoHeaders, new ReadOnlySequence<byte>(body));
        connection.TryEndFrame();
        return McpStatus.FrameTooLarge;
    }

    /// <summary>An error answer with its JSON body (docs/protocol.md, "Status codes"); ends the request.</summary>
    public void AnswerError(in McpRequestStart start, uint id, bool oneWay, McpStatus status, string message, string traceId) =>
        WriteAnswer(start, id, oneWay, status, new ReadOnlySequence<byte>(McpErrorBody.Create(status, message, traceId, Now)));

    /// <summary>A handler's reply; null (the connection ended while it ran) writes nothing and counts as INTERNAL. Ends the request.</summary>
    public void WriteReply(in McpRequestStart start, uint id, bool oneWay, McpReply? reply, string traceId) =>
        Finish(start, reply is { } answer ? WriteFrame(answer, id, oneWay, traceId) : McpStatus.Internal, connection.AnsweredTimestamp());

    /// <summary>
    /// A request that answers later: it holds an in-flight slot until <paramref name="pending"/> completes and its
    /// reply is written under the write lock. A target that throws is still answered (INTERNAL).
    /// </summary>
    public void AnswerLater(uint id, McpIncomingRequest request, ValueTask<McpReply?> pending, McpRequestStart start)
    {
        connection.BeginInFlight();
        _ = AnswerLaterAsync(id, request, pending, start);
    }

    /// <summary>ERROR with <paramref name="status"/>, logged; the connection closes after it (docs/protocol.md).</summary>
    public void WriteConnectionError(McpStatus status, string problem)
    {
        if (connection.MayLogRejection())
        {
            McpLog.FrameRejected(connection.Logger, connection.Id, connection.RemoteEndPoint, problem, status);
        }

        McpPayload.WriteError(connection.BeginFrame(), status, problem);
        connection.TryEndFrame();
    }

    private async Task AnswerLaterAsync(uint id, McpIncomingRequest request, ValueTask<McpReply?> pending, McpRequestStart start)
    {
        var status = McpStatus.Internal;
        McpReply? outcome;
        try
        {
            outcome = await pending;
        }
        catch (OperationCanceledException) when (connection.RequestsAborted.IsCancellationRequested)
        {
            outcome = null;
        }
        catch (Exception ex)
        {
            // Every target answers its own failures; this is the net under a bug, so the request is still answered.
            McpLog.MethodFailed(connection.Logger, ex, connection.Id, request.Method);
            outcome = McpReply.Error(McpStatus.Internal, $"'{request.Method}' failed");
        }

        try
        {
            if (outcome is { } reply)
            {
                // The status that went out: the reply's, or FRAME_TOO_LARGE when it did not fit the framing.
                var sent = new StrongBox<McpStatus>(reply.Status);
                status = reply.Status;
                await connection.WriteAsync((Answerer: this, id, request, reply, sent), static answer =>
                    answer.sent.Value = answer.Answerer.WriteFrame(answer.reply, answer.id, answer.request.IsOneWay, answer.request.TraceId), CancellationToken.None);
                status = sent.Value;
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The connection ended while the request ran; nobody is left to answer.
            connection.OnTransportEnded(ex.Message);
        }
        finally
        {
            ReleaseBody(request.Body.Length);
            // After the write lock: the clock now, not the batch's (AnsweredTimestamp is for writers holding the lock).
            Finish(start, status, Stopwatch.GetTimestamp());
            connection.EndInFlight();
        }
    }

    /// <summary>Writes <paramref name="reply"/>; returns the status that went out (FRAME_TOO_LARGE when it did not fit).</summary>
    private McpStatus WriteFrame(McpReply reply, uint id, bool oneWay, string traceId)
    {
        reply.WriteTo(connection.BeginFrame(), id, oneWay, traceId, connection.Services.Time);
        return connection.TryEndFrame() ? reply.Status : AnswerTooLarge(id, traceId);
    }

    /// <summary>A request was answered <paramref name="status"/>: count it, record its latency, end its span.</summary>
    private void Finish(in McpRequestStart start, McpStatus status, long answeredAt)
    {
        connection.Services.Metrics.McpRequest(start.MethodTag, status, start.Started, answeredAt);
        _backoff.Record(status, connection.Services.Dispatcher);
        if (start.Span is { } span)
        {
            span.SetTag("mcp.status", McpStatusNames.Of(status));
            span.Stop();
        }
    }
}
