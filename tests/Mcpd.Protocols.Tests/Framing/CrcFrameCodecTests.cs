using System.Buffers;
using Mcpd.Protocols.Framing;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Framing;

public class CrcFrameCodecTests
{
    private const int MinPayload = 8;

    // A PING MCP frame (4D43 01 03 00000002 ABCD) inside the CRC framing.
    private const string PingPayload = "4D43010300000002ABCD";

    [Fact]
    public void Encode_writes_start_length_payload_and_crc_low_byte_first()
    {
        var output = new ArrayBufferWriter<byte>();
        var payload = Convert.FromHexString(PingPayload);

        CrcFrameCodec.Encode(payload, output);

        var crc = Crc16Modbus.Compute(payload);
        Assert.Equal($"5A000A{PingPayload}{crc & 0xFF:X2}{crc >> 8:X2}", Convert.ToHexString(output.WrittenSpan));
    }

    [Fact]
    public void Frame_split_at_every_boundary_decodes_as_whole()
    {
        var frame = Framed(PingPayload);
        for (var split = 1; split < frame.Length; split++)
        {
            var payloads = DecodeAll(SegmentedSequence.Split(frame, split), out var dropped);

            Assert.Equal([PingPayload], payloads);
            Assert.Equal(0, dropped);
        }
    }

    [Fact]
    public void Garbage_before_a_frame_is_dropped_and_counted()
    {
        var input = Convert.FromHexString("00FF5A13").Concat(Framed(PingPayload)).ToArray();

        var payloads = DecodeAll(new ReadOnlySequence<byte>(input), out var dropped);

        Assert.Equal([PingPayload], payloads);
        Assert.Equal(4, dropped);
    }

    [Fact]
    public void Bad_crc_drops_that_frame_and_the_next_one_decodes()
    {
        var damaged = Framed(PingPayload);
        damaged[^1] ^= 0x01;
        var input = damaged.Concat(Framed(PingPayload)).ToArray();

        var payloads = DecodeAll(new ReadOnlySequence<byte>(input), out var dropped);

        Assert.Equal([PingPayload], payloads);
        Assert.Equal(damaged.Length, dropped);
    }

    [Fact]
    public void Impossible_length_resynchronises_on_the_next_start_byte()
    {
        // 0x5A with length 3 (shorter than an MCP header) is not a frame start.
        var input = Convert.FromHexString("5A0003").Concat(Framed(PingPayload)).ToArray();

        var payloads = DecodeAll(new ReadOnlySequence<byte>(input), out var dropped);

        Assert.Equal([PingPayload], payloads);
        Assert.Equal(3, dropped);
    }

    [Fact]
    public void Random_bit_flips_lose_only_the_damaged_frames()
    {
        var random = new Random(2026);
        var frames = new List<byte[]>();
        var intact = new List<string>();
        for (var i = 0; i < 500; i++)
        {
            var body = new byte[random.Next(0, 40)];
            random.NextBytes(body);
            var payload = $"4D43010000{body.Length + 4:X6}{i:X8}{Convert.ToHexString(body)}";
            var frame = Framed(payload);
            if (random.Next(4) == 0)
            {
                // One flipped bit, anywhere in the frame: CRC-16 detects every single-bit error.
                frame[random.Next(frame.Length)] ^= (byte)(1 << random.Next(8));
            }
            else
            {
                intact.Add(payload);
            }

            frames.Add(frame);
        }

        var payloads = DecodeAll(new ReadOnlySequence<byte>(frames.SelectMany(f => f).ToArray()), out _);

        foreach (var payload in intact)
        {
            Assert.Contains(payload, payloads);
        }

        Assert.All(payloads, p => Assert.Contains(p, intact));
    }

    [Fact]
    public void A_flood_of_start_bytes_is_dropped_at_once_when_payloads_must_begin_with_a_prefix()
    {
        // Each 0x5A announces a 0x5A5A-byte frame: without the prefix check the decoder waits at the first one for
        // 23,135 bytes and then computes one CRC over 23,130 bytes per dropped byte (quadratic work); with it, each
        // start byte costs one look at the three bytes after the length.
        var flood = Enumerable.Repeat(CrcFrameCodec.StartByte, 4096).Concat(Framed(PingPayload)).ToArray();
        byte[] mcp = [0x4D, 0x43, 0x01];

        var withoutPrefix = CrcFrameCodec.Decode(new ReadOnlySequence<byte>(flood), MinPayload, ushort.MaxValue, [], long.MaxValue, out _, out var waitingAt, out var droppedWithout, out _);
        var payloads = DecodeAll(new ReadOnlySequence<byte>(flood), mcp, out var dropped);

        Assert.Equal(OperationStatus.NeedMoreData, withoutPrefix);
        Assert.Equal(0, new ReadOnlySequence<byte>(flood).Slice(0, waitingAt).Length);
        Assert.Equal(0, droppedWithout);
        Assert.Equal([PingPayload], payloads);
        Assert.Equal(4096, dropped);
    }

    [Fact]
    public void A_frame_whose_crc_fails_reports_its_payload_as_checksummed_in_vain()
    {
        var damaged = Framed(PingPayload);
        damaged[^1] ^= 0xFF;
        var input = new ReadOnlySequence<byte>(damaged.Concat(Framed(PingPayload)).ToArray());

        var status = CrcFrameCodec.Decode(input, MinPayload, 1024, [], long.MaxValue, out var payload, out _, out var dropped, out var checksummedInVain);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(PingPayload, Convert.ToHexString(payload.ToArray()));
        Assert.Equal(damaged.Length, dropped);
        Assert.Equal(PingPayload.Length / 2, checksummedInVain);
    }

    [Fact]
    public void Decoding_stops_with_invalid_data_once_the_noise_passes_its_bound_within_one_call()
    {
        var damaged = Framed(PingPayload);
        damaged[^1] ^= 0xFF;
        var input = new ReadOnlySequence<byte>(Enumerable.Repeat(damaged, 100).SelectMany(f => f).ToArray());

        var status = CrcFrameCodec.Decode(input, MinPayload, 1024, [], 3 * damaged.Length, out _, out _, out var dropped, out var checksummedInVain);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.InRange(dropped + checksummedInVain, 3 * damaged.Length + 1, 5 * damaged.Length);
    }

    private static byte[] Framed(string payloadHex)
    {
        var output = new ArrayBufferWriter<byte>();
        CrcFrameCodec.Encode(Convert.FromHexString(payloadHex), output);
        return output.WrittenSpan.ToArray();
    }

    private static List<string> DecodeAll(ReadOnlySequence<byte> buffer, out long dropped) => DecodeAll(buffer, [], out dropped);

    private static List<string> DecodeAll(ReadOnlySequence<byte> buffer, byte[] payloadPrefix, out long dropped)
    {
        var payloads = new List<string>();
        dropped = 0;
        while (true)
        {
            var status = CrcFrameCodec.Decode(buffer, MinPayload, 1024, payloadPrefix, long.MaxValue, out var payload, out var consumed, out var skipped, out _);
            dropped += skipped;
            buffer = buffer.Slice(consumed);
            if (status != OperationStatus.Done)
            {
                return payloads;
            }

            payloads.Add(Convert.ToHexString(payload.ToArray()));
        }
    }
}
