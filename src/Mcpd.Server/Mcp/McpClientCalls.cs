using System.Buffers;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Mcp;

/// <summary>
/// The server's calls to the client of one connection (docs/protocol.md, "Requests from the server to a client"):
/// REQ out with ids of the server's own, RESP or ACK matched by id. The whole call, writing included, is bounded by
/// the call timeout, so a client that stops reading cannot hold it; calls still waiting fail when input ends. Made
/// by a connection's first call (or when its input ends): a connection the server never calls keeps none.
/// </summary>
internal sealed class McpClientCalls(McpConnection connection, TimeSpan callTimeout, TimeProvider clock)
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private readonly PendingRequests<McpResponse> _waiting = new(uint.MaxValue, connection.ConnectionId);

    /// <summary>True while calls wait for their answers: the read loop must read on, even at the in-flight limit.</summary>
    public bool AnyWaiting => _waiting.Count > 0;

    /// <summary>Sends the request and waits for its RESP (ACK when one-way).</summary>
    /// <exception cref="TimeoutException">No answer within the call timeout.</exception>
    /// <exception cref="IOException">The connection is closed.</exception>
    public async Task<McpResponse> SendAsync(string method, McpRequestFlags flags, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers, CancellationToken cancellationToken)
    {
        var (id, completion) = _waiting.Register();
        // The read loop may be paused at the in-flight limit: it must read on for this answer.
        connection.WakeReader();
        using var deadline = new CancellationTokenSource(callTimeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            await connection.WriteAsync((connection, id, flags, method, headers: headers ?? NoHeaders, body), static call =>
            {
                McpPayload.WriteRequest(call.connection.BeginFrame(), call.id, call.flags, call.method, call.headers, call.body.Span);
                if (!call.connection.TryEndFrame())
                {
                    throw new ArgumentException($"The request {call.method} is larger than the connection's framing carries (one CRC frame: at most 65535 bytes).");
                }
            }, linked.Token);
            return await completion.Task.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Client {connection.RemoteEndPoint} ({connection.Id}) did not answer {method} within {callTimeout}.");
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or ConnectionResetException or ConnectionAbortedException)
        {
            throw new IOException($"Connection {connection.Id} to {connection.RemoteEndPoint} is closed.", ex);
        }
        finally
        {
            _waiting.Remove(id);
        }
    }

    /// <summary>Completes the call a RESP or ACK frame answers; false with <paramref name="problem"/> when the frame is malformed.</summary>
    public bool TryComplete(in McpFrame frame, out string? problem)
    {
        if (frame.Type == McpFrameType.Ack)
        {
            problem = McpPayload.TryParseAck(frame.Payload, out var ackId, out var ackStatus) ? null : "the ACK is not 6 bytes";
            if (problem is null)
            {
                _waiting.TryComplete(ackId, new McpResponse(ackId, ackStatus, NoHeaders, []));
            }

            return problem is null;
        }

        if (McpPayload.ParseResponse(frame.Payload, out var id, out var status, out var headers, out var body, out var parseProblem) != McpParseStatus.Ok)
        {
            problem = $"malformed RESP: {parseProblem}";
            return false;
        }

        _waiting.TryComplete(id, new McpResponse(id, status, headers.ToList(), body.ToArray()));
        problem = null;
        return true;
    }

    /// <summary>Input ended: every call still waiting fails, and no new one can start.</summary>
    public void FailAll() => _waiting.FailAll(new IOException($"connection {connection.Id} ended"));
}
