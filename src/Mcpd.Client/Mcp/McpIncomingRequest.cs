using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>A request the peer sent, as a handler sees it: its own copy of method, headers and body.</summary>
public sealed class McpIncomingRequest
{
    /// <summary>Creates a request as received from <paramref name="peer"/>.</summary>
    /// <param name="method">The method name.</param>
    /// <param name="headers">The headers, in the order sent.</param>
    /// <param name="body">The body.</param>
    /// <param name="isOneWay">True for a one-way request.</param>
    /// <param name="peer">Who sent it.</param>
    /// <param name="traceId">The trace id when the receiver already knows it (the server's request span); null: from <c>traceparent</c>, else new.</param>
    public McpIncomingRequest(string method, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlyMemory<byte> body, bool isOneWay, IMcpPeer peer, string? traceId = null)
    {
        Method = method;
        Headers = headers;
        Body = body;
        IsOneWay = isOneWay;
        Peer = peer;
        TraceId = traceId ?? McpErrorBody.TraceIdOf(Header(McpHeaderNames.TraceParent));
    }

    /// <summary>The method name.</summary>
    public string Method { get; }

    /// <summary>The headers, in the order sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>True for a one-way request: the answer is an ACK of the status alone.</summary>
    public bool IsOneWay { get; }

    /// <summary>
    /// The trace id: from the W3C <c>traceparent</c> header when it has one, else new; the server passes its request
    /// span's trace id when it made one, so logs, error bodies and spans agree.
    /// </summary>
    public string TraceId { get; }

    /// <summary>Who sent it; it can be called back.</summary>
    public IMcpPeer Peer { get; }

    /// <summary>
    /// The session of the request, when it names one or its connection is bound to one (server side only): the server
    /// sets it before the handler runs.
    /// </summary>
    public ISessionState? Session { get; set; }

    /// <summary>The value of header <paramref name="key"/> (lowercase), or null.</summary>
    public string? Header(string key)
    {
        foreach (var (name, value) in Headers)
        {
            if (name == key)
            {
                return value;
            }
        }

        return null;
    }
}
