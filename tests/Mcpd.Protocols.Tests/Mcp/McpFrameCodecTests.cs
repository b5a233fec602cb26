using System.Buffers;
using Mcpd.Protocols.Mcp;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Mcp;

public class McpFrameCodecTests
{
    private const long Max = 1024 * 1024;

    public static TheoryData<McpFrameType, string, string> Frames() => new()
    {
        // type, payload, the whole frame on the wire
        { McpFrameType.Ping, "0102030405060708", "4D430103000000080102030405060708" },
        { McpFrameType.Pong, "", "4D43010400000000" },
        { McpFrameType.Ack, "0000002A0000", "4D430102000000060000002A0000" },
        { McpFrameType.Error, "000D7368757474696E6720646F776E", "4D4301050000000F000D7368757474696E6720646F776E" },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void Encode_writes_the_golden_bytes(McpFrameType type, string payload, string wire)
    {
        var output = new ArrayBufferWriter<byte>();

        McpFrameCodec.Encode(type, Convert.FromHexString(payload), output);

        Assert.Equal(wire, Convert.ToHexString(output.WrittenSpan));
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Frame_split_at_every_boundary_decodes_as_whole(McpFrameType type, string payload, string wire)
    {
        var bytes = Convert.FromHexString(wire);
        for (var split = 1; split < bytes.Length; split++)
        {
            var status = McpFrameCodec.Decode(SegmentedSequence.Split(bytes, split), Max, out var frame, out var consumed, out var error);

            Assert.Equal(OperationStatus.Done, status);
            Assert.Equal(McpFrameError.None, error);
            Assert.Equal(type, frame.Type);
            Assert.Equal(payload, Convert.ToHexString(frame.Payload.ToArray()));
            Assert.Equal(bytes.Length, SegmentedSequence.Split(bytes, split).Slice(0, consumed).Length);
        }
    }

    [Fact]
    public void Concatenated_frames_decode_in_order()
    {
        var wire = Convert.FromHexString(string.Concat(Frames().Select(row => row.Data.Item3)));
        var buffer = new ReadOnlySequence<byte>(wire);
        var types = new List<McpFrameType>();

        while (McpFrameCodec.Decode(buffer, Max, out var frame, out var consumed, out _) == OperationStatus.Done)
        {
            types.Add(frame.Type);
            buffer = buffer.Slice(consumed);
        }

        Assert.Equal([McpFrameType.Ping, McpFrameType.Pong, McpFrameType.Ack, McpFrameType.Error], types);
        Assert.Equal(0, buffer.Length);
    }

    [Theory]
    [InlineData("4D", OperationStatus.NeedMoreData, McpFrameError.None)]
    [InlineData("4D4301", OperationStatus.NeedMoreData, McpFrameError.None)]
    [InlineData("4745", OperationStatus.InvalidData, McpFrameError.BadMagic)] // "GE" of an HTTP GET: refused at byte 2
    [InlineData("4D43020300000000", OperationStatus.InvalidData, McpFrameError.UnsupportedVersion)]
    [InlineData("4D430100FFFFFFFF", OperationStatus.InvalidData, McpFrameError.FrameTooLarge)]
    [InlineData("4D43010000100001", OperationStatus.InvalidData, McpFrameError.FrameTooLarge)]
    [InlineData("4D43010000100000", OperationStatus.NeedMoreData, McpFrameError.None)] // exactly 1 MiB announced: allowed
    public void Header_is_judged_before_the_payload_arrives(string bytes, OperationStatus expected, McpFrameError expectedError)
    {
        var status = McpFrameCodec.Decode(new ReadOnlySequence<byte>(Convert.FromHexString(bytes)), Max, out _, out _, out var error);

        Assert.Equal(expected, status);
        Assert.Equal(expectedError, error);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(7);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (bytes.Length >= 3 && random.Next(2) == 0)
            {
                (bytes[0], bytes[1], bytes[2]) = (0x4D, 0x43, 0x01);
            }

            var buffer = new ReadOnlySequence<byte>(bytes);
            while (McpFrameCodec.Decode(buffer, Max, out var frame, out var consumed, out _) == OperationStatus.Done)
            {
                Assert.Equal(frame.Header.PayloadLength, (uint)frame.Payload.Length);
                buffer = buffer.Slice(consumed);
            }
        }
    }
}
