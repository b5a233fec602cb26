using System.Text;
using CsCheck;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// MCP frames (docs/protocol.md) of every type, written by McpPayload's writers, and what a connection reads of a
/// decoded frame: its payload parsed as its type says, described as text, and written again from what was parsed.
/// </summary>
internal static class McpFrames
{
    /// <summary>Smaller than some generated frames, so FRAME_TOO_LARGE is reached too.</summary>
    public const int MaxPayloadLength = 256;

    private static readonly Gen<uint> Id = Gen.Frequency((1, Gen.OneOf(0u, 1u, uint.MaxValue)), (3, Gen.UInt));

    private static readonly Gen<McpStatus> Status = Gen.Frequency((3, Gen.Enum<McpStatus>()), (1, Gen.UShort.Select(status => (McpStatus)status)));

    private static readonly Gen<string> Text = Gen.String[0, 40];

    private static readonly Gen<KeyValuePair<string, string>[]> Headers = Gen.Select(
        Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-_.~!"].Array[1, 16].Select(key => new string(key)), Text, KeyValuePair.Create).Array[0, 4];

    private static readonly Gen<byte[]> Body = Gen.Byte.Array[0, 64];

    public static Gen<byte[]> Frame { get; } = Gen.OneOf(
        Gen.Select(Id, Gen.OneOf(McpRequestFlags.None, McpRequestFlags.OneWay), Gen.String[1, 40], Headers, Body, (id, flags, method, headers, body) =>
            Written(output => McpPayload.WriteRequest(output, id, flags, method, headers, body))),
        Gen.Select(Id, Status, Headers, Body, (id, status, headers, body) =>
            Written(output => McpPayload.WriteResponse(output, id, status, headers, new ReadOnlySequence<byte>(body)))),
        Gen.Select(Id, Status, (id, status) => Written(output => McpPayload.WriteAck(output, id, status))),
        Gen.Select(Gen.OneOf(McpFrameType.Ping, McpFrameType.Pong), Gen.Byte.Array[0, McpPayload.MaxPingLength], (type, data) =>
            Written(output => McpPayload.WriteHeartbeat(output, type, data))),
        Gen.Select(Status, Text, (status, message) => Written(output => McpPayload.WriteError(output, status, message))),
        Gen.Select(Gen.Byte, Gen.Byte.Array[0, MaxPayloadLength + 8], (type, payload) =>
            Written(output => McpFrameCodec.Encode((McpFrameType)type, payload, output))));

    /// <summary>The header and what the payload parses to, as its type says; the same frame always reads the same.</summary>
    public static string Describe(in McpFrame frame)
    {
        var payload = frame.Payload;
        var parsed = frame.Type switch
        {
            McpFrameType.Request => McpPayload.ParseRequest(payload, out var request, out var id, out var problem) == McpParseStatus.Ok
                ? $"request {id} {request.Flags} {Convert.ToHexString(request.Method.ToArray())} [{string.Join(", ", request.Headers.ToList())}] {Convert.ToHexString(request.Body.ToArray())}"
                : $"request {id}: {problem}",
            McpFrameType.Response => McpPayload.ParseResponse(payload, out var id, out var status, out var headers, out var body, out var problem) == McpParseStatus.Ok
                ? $"response {id} {status} [{string.Join(", ", headers.ToList())}] {Convert.ToHexString(body.ToArray())}"
                : $"response {id}: {problem}",
            McpFrameType.Ack => McpPayload.TryParseAck(payload, out var id, out var status) ? $"ack {id} {status}" : "bad ack",
            McpFrameType.Error => McpPayload.TryParseError(payload, out var status, out var message) ? $"error {status} {message}" : "bad error",
            _ => Convert.ToHexString(payload.ToArray()),
        };
        return $"{frame.Header} {parsed}";
    }

    /// <summary>The frame written again from what its payload parses to: a connection reads every field of it.</summary>
    public static byte[] Rewrite(in McpFrame frame)
    {
        var payload = frame.Payload;
        var type = frame.Type;
        if (type == McpFrameType.Request && McpPayload.ParseRequest(payload, out var request, out _, out _) == McpParseStatus.Ok)
        {
            var method = Encoding.UTF8.GetString(request.Method);
            return Written(output => McpPayload.WriteRequest(output, request.Id, request.Flags, method, request.Headers.ToList(), request.Body.ToArray()));
        }

        if (type == McpFrameType.Response && McpPayload.ParseResponse(payload, out var id, out var status, out var headers, out var body, out _) == McpParseStatus.Ok)
        {
            return Written(output => McpPayload.WriteResponse(output, id, status, headers.ToList(), body));
        }

        if (type == McpFrameType.Ack && McpPayload.TryParseAck(payload, out var ackId, out var ackStatus))
        {
            return Written(output => McpPayload.WriteAck(output, ackId, ackStatus));
        }

        if (type == McpFrameType.Error && McpPayload.TryParseError(payload, out var errorStatus, out var message))
        {
            return Written(output => McpPayload.WriteError(output, errorStatus, message));
        }

        var bytes = payload.ToArray();
        return Written(output => McpFrameCodec.Encode(type, bytes, output));
    }

    private static byte[] Written(Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }
}
