using System.Buffers;
using System.Text;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Protocols.Tests.Mcp;

public class McpPayloadTests
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    [Fact]
    public void Request_golden_bytes()
    {
        var output = new ArrayBufferWriter<byte>();

        McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, "hi"u8);

        // magic, version 1, type 0 REQ, length 17 | id 1 | flags 0 | method length 8 "sys.echo" | 0 headers | "hi"
        Assert.Equal("4D43010000000011" + "00000001" + "00" + "08" + "7379732E6563686F" + "00" + "6869", Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void One_way_request_with_headers_golden_bytes_and_round_trip()
    {
        var output = new ArrayBufferWriter<byte>();

        McpPayload.WriteRequest(output, 0x0102, McpRequestFlags.OneWay, "telemetry.report", [new("priority", "high")], "{}"u8);

        Assert.Equal(
            "4D43010000000028" + "00000102" + "01" + "10" + Hex("telemetry.report") + "01" + "08" + Hex("priority") + "0004" + Hex("high") + Hex("{}"),
            Convert.ToHexString(output.WrittenSpan));
        var status = McpPayload.ParseRequest(Payload(output), out var request, out var id, out var problem);
        Assert.Equal(McpParseStatus.Ok, status);
        Assert.Null(problem);
        Assert.Equal(0x0102u, id);
        Assert.True(request.IsOneWay);
        Assert.Equal("telemetry.report", Encoding.UTF8.GetString(request.Method));
        Assert.Equal("high", request.Headers["priority"]);
        Assert.Equal("{}", Encoding.UTF8.GetString(request.Body));
    }

    [Fact]
    public void Response_ack_error_and_heartbeat_golden_bytes()
    {
        var output = new ArrayBufferWriter<byte>();

        McpPayload.WriteResponse(output, 1, McpStatus.Ok, NoHeaders, new ReadOnlySequence<byte>("hi"u8.ToArray()));
        McpPayload.WriteAck(output, 42, McpStatus.Overloaded);
        McpPayload.WriteError(output, McpStatus.ShuttingDown, "bye");
        McpPayload.WriteHeartbeat(output, McpFrameType.Ping, [1, 2]);

        Assert.Equal(
            "4D43010100000009" + "00000001" + "0000" + "00" + "6869"
            + "4D43010200000006" + "0000002A" + "0007"
            + "4D43010500000005" + "000D" + Hex("bye")
            + "4D43010300000002" + "0102",
            Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Response_ack_and_error_parse_back()
    {
        var output = new ArrayBufferWriter<byte>();
        McpPayload.WriteResponse(output, 7, McpStatus.NotFound, [new("traceparent", "00-ab-cd-01")], new ReadOnlySequence<byte>("{}"u8.ToArray()));
        Assert.Equal(McpParseStatus.Ok, McpPayload.ParseResponse(Payload(output), out var id, out var status, out var headers, out var body, out _));
        Assert.Equal((7u, McpStatus.NotFound, "00-ab-cd-01", "{}"), (id, status, headers["traceparent"], Encoding.UTF8.GetString(body)));

        Assert.True(McpPayload.TryParseAck(new ReadOnlySequence<byte>(Convert.FromHexString("0000002A0007")), out var ackId, out var ackStatus));
        Assert.Equal((42u, McpStatus.Overloaded), (ackId, ackStatus));
        Assert.False(McpPayload.TryParseAck(new ReadOnlySequence<byte>(Convert.FromHexString("0000002A00")), out _, out _));

        Assert.True(McpPayload.TryParseError(new ReadOnlySequence<byte>(Convert.FromHexString("000D" + Hex("bye"))), out var errorStatus, out var message));
        Assert.Equal((McpStatus.ShuttingDown, "bye"), (errorStatus, message));
    }

    [Theory]
    [InlineData("", McpParseStatus.Unreadable, "too few for a request id")]
    [InlineData("000001", McpParseStatus.Unreadable, "too few for a request id")]
    [InlineData("00000005", McpParseStatus.Malformed, "the flags byte is missing")]
    [InlineData("0000000502", McpParseStatus.Malformed, "reserved bits")]
    [InlineData("000000050000", McpParseStatus.Malformed, "the method is missing, empty")]
    [InlineData("00000005000461", McpParseStatus.Malformed, "the method is missing, empty or runs past")]
    [InlineData("0000000500 01 FF", McpParseStatus.Malformed, "the method is not UTF-8")]
    [InlineData("000000050001 61", McpParseStatus.Malformed, "the headers count is missing")]
    [InlineData("000000050001 61 01 01 41 0000", McpParseStatus.Malformed, "not lowercase printable ASCII")]
    [InlineData("000000050001 61 01 01 61 0001 FF", McpParseStatus.Malformed, "the value is not UTF-8")]
    [InlineData("000000050001 61 02 01 61 0000", McpParseStatus.Malformed, "header 1: the key length is missing")]
    [InlineData("000000050001 61 01 01 61 0005 41", McpParseStatus.Malformed, "the value length is missing or runs past")]
    public void Malformed_requests_name_the_problem_and_keep_the_id_when_readable(string hex, McpParseStatus expected, string problemPart)
    {
        var payload = new ReadOnlySequence<byte>(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));

        var status = McpPayload.ParseRequest(payload, out _, out var id, out var problem);

        Assert.Equal(expected, status);
        Assert.Contains(problemPart, problem, StringComparison.Ordinal);
        if (expected == McpParseStatus.Malformed)
        {
            Assert.Equal(5u, id);
        }
    }

    [Fact]
    public void Writers_refuse_what_the_wire_cannot_carry()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentException>(() => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "", NoHeaders, []));
        Assert.Throws<ArgumentException>(() => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, new string('m', 256), NoHeaders, []));
        Assert.Throws<ArgumentException>(() => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "m", [new("Upper", "x")], []));
        Assert.Throws<ArgumentException>(() => McpPayload.WriteHeartbeat(output, McpFrameType.Ping, new byte[9]));
    }

    private static string Hex(string text) => Convert.ToHexString(Encoding.UTF8.GetBytes(text));

    private static ReadOnlySequence<byte> Payload(ArrayBufferWriter<byte> frame) =>
        new(frame.WrittenMemory[McpFrameHeader.Length..]);
}
