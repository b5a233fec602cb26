using System.Buffers;
using System.Text;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// What a handler answers: a status, headers and a body. An error made with <see cref="Error"/> carries only its
/// message; the JSON error body (code, status, message, timestamp, traceId, docs/protocol.md "RESP") is built when it is written,
/// with the request's trace id. A one-way request is answered with an ACK of the status alone.
/// </summary>
public readonly struct McpReply
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private McpReply(McpStatus status, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>>? headers, string? errorMessage)
    {
        Status = status;
        Body = body;
        Headers = headers ?? NoHeaders;
        ErrorMessage = errorMessage;
    }

    /// <summary>The status.</summary>
    public McpStatus Status { get; }

    /// <summary>The body (for <see cref="Error"/>, empty until written).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The response headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The message of an error made with <see cref="Error"/>, else null.</summary>
    public string? ErrorMessage { get; }

    /// <summary>OK with <paramref name="body"/>.</summary>
    public static McpReply Ok(ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null) =>
        new(McpStatus.Ok, body, headers, null);

    /// <summary>OK with <paramref name="text"/> as UTF-8.</summary>
    public static McpReply Ok(string text) => Ok(Encoding.UTF8.GetBytes(text));

    /// <summary>An error status with a message for the JSON error body.</summary>
    public static McpReply Error(McpStatus status, string message) =>
        status == McpStatus.Ok ? throw new ArgumentException("An error reply needs an error status.", nameof(status)) : new(status, default, null, message);

    /// <summary>Passes <paramref name="response"/> on unchanged (status, headers, body), as a forwarder does.</summary>
    public static McpReply From(McpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new(response.Status, response.Body, response.Headers, null);
    }

    /// <summary>
    /// Writes the answer to request <paramref name="id"/>: an ACK of the status when <paramref name="oneWay"/>, else a
    /// RESP; an <see cref="Error"/> gets its JSON body with <paramref name="traceId"/>, stamped with the time of
    /// <paramref name="time"/> (read only then: a successful answer costs no clock read).
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output, uint id, bool oneWay, string traceId, TimeProvider time)
    {
        if (oneWay)
        {
            McpPayload.WriteAck(output, id, Status);
            return;
        }

        var body = ErrorMessage is null ? Body : McpErrorBody.Create(Status, ErrorMessage, traceId, time.GetUtcNow());
        try
        {
            McpPayload.WriteResponse(output, id, Status, Headers, new ReadOnlySequence<byte>(body));
        }
        catch (ArgumentException ex)
        {
            // A handler's reply that cannot be encoded (a header key with capitals, over 255 headers) is still an
            // answer: INTERNAL, naming the problem. Sizes are checked before anything is written.
            McpPayload.WriteResponse(output, id, McpStatus.Internal, [], new ReadOnlySequence<byte>(McpErrorBody.Create(McpStatus.Internal, $"the handler's reply cannot be sent: {ex.Message}", traceId, time.GetUtcNow())));
        }
    }
}
