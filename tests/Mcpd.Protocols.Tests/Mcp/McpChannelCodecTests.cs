using System.Buffers;
using Mcpd.Protocols.Framing;
using Mcpd.Protocols.Mcp;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Mcp;

public class McpChannelCodecTests
{
    // A PING MCP frame: magic 4D43, version 01, type 03, payload length 2, payload ABCD.
    private const string Ping = "4D43010300000002ABCD";

    [Theory]
    [InlineData(McpFraming.Plain)]
    [InlineData(McpFraming.Crc)]
    public void Frame_split_at_every_boundary_decodes_once_whole(McpFraming framing)
    {
        var wire = Encode(framing, Ping);
        for (var split = 1; split < wire.Length; split++)
        {
            var codec = McpChannelCodec.For(framing, 1024);
            var buffer = SegmentedSequence.Split(wire, split);

            Assert.Equal(OperationStatus.NeedMoreData, codec.Decode(buffer.Slice(0, split), out _, out _, out _, out _));
            Assert.Equal(OperationStatus.Done, codec.Decode(buffer, out var frame, out var consumed, out var error, out var dropped));
            Assert.Equal(McpFrameType.Ping, frame.Type);
            Assert.Equal("ABCD", Convert.ToHexString(frame.Payload.ToArray()));
            Assert.Equal(buffer.End, consumed);
            Assert.Equal(McpFrameError.None, error);
            Assert.Equal(0, dropped);
        }
    }

    [Fact]
    public void Encode_through_the_crc_layer_wraps_exactly_the_mcp_frame()
    {
        var output = new ArrayBufferWriter<byte>();
        var expected = new ArrayBufferWriter<byte>();
        CrcFrameCodec.Encode(Convert.FromHexString(Ping), expected);

        var codec = McpChannelCodec.For(McpFraming.Crc, 1024);
        McpPayload.WriteHeartbeat(codec.BeginFrame(output), McpFrameType.Ping, [0xAB, 0xCD]);
        Assert.True(codec.TryEndFrame(output));

        Assert.Equal(Convert.ToHexString(expected.WrittenSpan), Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Crc_garbage_is_skipped_and_counted_and_the_next_frame_decodes()
    {
        var codec = McpChannelCodec.For(McpFraming.Crc, 1024);
        var buffer = new ReadOnlySequence<byte>([0x00, 0xFF, 0x13, .. Encode(McpFraming.Crc, Ping)]);

        Assert.Equal(OperationStatus.Done, codec.Decode(buffer, out var frame, out _, out _, out var dropped));
        Assert.Equal(McpFrameType.Ping, frame.Type);
        Assert.Equal(3, dropped);
    }

    [Fact]
    public void Crc_need_more_data_moves_past_dropped_bytes()
    {
        var codec = McpChannelCodec.For(McpFraming.Crc, 1024);
        var buffer = new ReadOnlySequence<byte>([0x00, 0x01, 0x02]);

        Assert.Equal(OperationStatus.NeedMoreData, codec.Decode(buffer, out _, out var consumed, out _, out var dropped));
        Assert.Equal(buffer.End, consumed);
        Assert.Equal(3, dropped);
    }

    [Theory]
    [InlineData(Ping + Ping)]
    [InlineData(Ping + "00")]
    [InlineData("4D43010300000004ABCD")]
    public void Crc_frame_not_holding_exactly_one_mcp_frame_is_invalid(string inside)
    {
        var codec = McpChannelCodec.For(McpFraming.Crc, 1024);
        var wire = new ArrayBufferWriter<byte>();
        CrcFrameCodec.Encode(Convert.FromHexString(inside), wire);

        Assert.Equal(OperationStatus.InvalidData, codec.Decode(new ReadOnlySequence<byte>(wire.WrittenMemory), out _, out _, out var error, out _));
        Assert.Equal(McpFrameError.NotOneFrame, error);
    }

    [Fact]
    public void Plain_oversized_frame_is_refused_from_its_header()
    {
        var codec = McpChannelCodec.For(McpFraming.Plain, 1);

        Assert.Equal(OperationStatus.InvalidData, codec.Decode(new ReadOnlySequence<byte>(Convert.FromHexString(Ping)[..8]), out var frame, out _, out var error, out _));
        Assert.Equal(McpFrameError.FrameTooLarge, error);
        Assert.Equal(2u, frame.Header.PayloadLength);
    }

    [Fact]
    public void Crc_envelope_longer_than_the_largest_frame_is_no_frame_start_and_is_dropped()
    {
        var codec = McpChannelCodec.For(McpFraming.Crc, 1);
        var wire = Encode(McpFraming.Crc, Ping);

        Assert.Equal(OperationStatus.NeedMoreData, codec.Decode(new ReadOnlySequence<byte>(wire), out _, out _, out _, out var dropped));
        Assert.Equal(wire.Length, dropped);
    }

    [Fact]
    public void Plain_frames_back_to_back_decode_one_at_a_time()
    {
        var codec = McpChannelCodec.For(McpFraming.Plain, 1024);
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(Ping + Ping));

        Assert.Equal(OperationStatus.Done, codec.Decode(buffer, out _, out var first, out _, out _));
        Assert.Equal(10, buffer.Slice(0, first).Length);
        Assert.Equal(OperationStatus.Done, codec.Decode(buffer.Slice(first), out _, out var second, out _, out _));
        Assert.Equal(buffer.End, second);
    }

    private static byte[] Encode(McpFraming framing, string mcpFrame)
    {
        var output = new ArrayBufferWriter<byte>();
        var codec = McpChannelCodec.For(framing, 1024);
        codec.BeginFrame(output).Write(Convert.FromHexString(mcpFrame));
        Assert.True(codec.TryEndFrame(output));
        return output.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_frame_larger_than_one_crc_frame_is_refused_and_nothing_is_written()
    {
        var codec = McpChannelCodec.For(McpFraming.Crc, 1024 * 1024);
        var output = new ArrayBufferWriter<byte>();

        McpPayload.WriteResponse(codec.BeginFrame(output), 1, McpStatus.Ok, [], new ReadOnlySequence<byte>(new byte[70_000]));
        var sealedLarge = codec.TryEndFrame(output);
        McpPayload.WriteHeartbeat(codec.BeginFrame(output), McpFrameType.Ping, []);
        var sealedSmall = codec.TryEndFrame(output);

        Assert.False(sealedLarge);
        Assert.True(sealedSmall);
        Assert.Equal(CrcFrameCodec.HeaderLength + McpFrameHeader.Length + CrcFrameCodec.TrailerLength, output.WrittenCount);
    }
}
