using System.Buffers;
using Mcpd.Protocols.Modbus;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Modbus;

public class ModbusTcpCodecTests
{
    // Transaction 0x0001, protocol 0, length 6, unit 1, FC03 address 0 quantity 2 (holding registers 40001..40002, the README's first read).
    private static readonly byte[] ReadTwoHolding = Convert.FromHexString("000100000006010300000002");

    [Fact]
    public void Whole_frame_decodes_header_and_pdu()
    {
        var buffer = new ReadOnlySequence<byte>(ReadTwoHolding);

        var status = ModbusTcpCodec.Decode(buffer, out var frame, out var consumed);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(new MbapHeader(1, 0, 6, 1), frame.Header);
        Assert.Equal("0300000002", Convert.ToHexString(frame.Pdu.ToArray()));
        Assert.Equal(buffer.End, consumed);
    }

    [Fact]
    public void Every_prefix_needs_more_data_and_consumes_nothing()
    {
        for (var length = 0; length < ReadTwoHolding.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(ReadTwoHolding, 0, length);

            var status = ModbusTcpCodec.Decode(buffer, out _, out var consumed);

            Assert.Equal(OperationStatus.NeedMoreData, status);
            Assert.Equal(buffer.Start, consumed);
        }
    }

    [Fact]
    public void Frame_split_at_every_boundary_decodes_as_whole()
    {
        var frames = Concat(ReadTwoHolding, Convert.FromHexString("00020000000BFF10000A00020401020304"));
        for (var split = 1; split < frames.Length; split++)
        {
            var buffer = SegmentedSequence.Split(frames, split);

            var decoded = DecodeAll(buffer);

            Assert.Equal(["1:0300000002", "2:10000A00020401020304"], decoded);
        }
    }

    [Fact]
    public void Frame_delivered_byte_by_byte_decodes_as_whole()
    {
        var buffer = SegmentedSequence.Create([.. ReadTwoHolding.Select(b => (ReadOnlyMemory<byte>)new[] { b })]);

        Assert.Equal(["1:0300000002"], DecodeAll(buffer));
    }

    [Fact]
    public void Concatenated_frames_all_decode_in_order()
    {
        var many = Enumerable.Range(1, 50).Select(i => Convert.FromHexString($"{i:X4}000000060103{i:X4}0001")).ToArray();

        var decoded = DecodeAll(new ReadOnlySequence<byte>(Concat(many)));

        Assert.Equal(Enumerable.Range(1, 50).Select(i => $"{i}:03{i:X4}0001"), decoded);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(0xFFFF)]
    public void Impossible_length_is_invalid_as_soon_as_the_header_is_in(int length)
    {
        var header = Convert.FromHexString($"00070000{length:X4}01");

        var status = ModbusTcpCodec.Decode(new ReadOnlySequence<byte>(header), out var frame, out _);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Equal(length, frame.Header.Length);
        Assert.Equal(7, frame.Header.TransactionId);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(254)]
    public void Length_limits_2_and_254_are_valid(int length)
    {
        var frame = new byte[6 + length];
        new MbapHeader(9, 0, (ushort)length, 1).Write(frame);
        frame[7] = 0x03;

        var status = ModbusTcpCodec.Decode(new ReadOnlySequence<byte>(frame), out var decoded, out _);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(length - 1, decoded.Pdu.Length);
    }

    [Fact]
    public void Foreign_protocol_id_is_decoded_so_the_caller_can_skip_it()
    {
        var status = ModbusTcpCodec.Decode(new ReadOnlySequence<byte>(Convert.FromHexString("000100010006010300000002")), out var frame, out _);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(1, frame.Header.ProtocolId);
    }

    [Fact]
    public void Encode_writes_header_with_length_and_echoed_ids()
    {
        var output = new ArrayBufferWriter<byte>();

        ModbusTcpCodec.Encode(0xBEEF, 0x11, Convert.FromHexString("0304006400550000"), output);

        Assert.Equal("BEEF00000009110304006400550000", Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Encode_refuses_an_empty_or_oversized_pdu()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusTcpCodec.Encode(1, 1, [], new ArrayBufferWriter<byte>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusTcpCodec.Encode(1, 1, new byte[254], new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void Random_bytes_never_throw_and_always_make_progress_or_stop()
    {
        var random = new Random(1234);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            var buffer = new ReadOnlySequence<byte>(bytes);
            while (ModbusTcpCodec.Decode(buffer, out var frame, out var consumed) == OperationStatus.Done)
            {
                Assert.InRange(frame.Pdu.Length, 1, ModbusLimits.MaxPduLength);
                Assert.True(buffer.Slice(consumed).Length < buffer.Length);
                buffer = buffer.Slice(consumed);
            }
        }
    }

    private static List<string> DecodeAll(ReadOnlySequence<byte> buffer)
    {
        var decoded = new List<string>();
        while (ModbusTcpCodec.Decode(buffer, out var frame, out var consumed) == OperationStatus.Done)
        {
            decoded.Add($"{frame.Header.TransactionId}:{Convert.ToHexString(frame.Pdu.ToArray())}");
            buffer = buffer.Slice(consumed);
        }

        Assert.Equal(0, buffer.Length);
        return decoded;
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
