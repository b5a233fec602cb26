using System.Buffers;
using Mcpd.Protocols.Modbus;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Modbus;

/// <summary>
/// RTU framing: golden ADUs (unit 1; CRCs computed independently with a bitwise CRC-16/MODBUS) for every function
/// code, requests as a slave decodes them and responses as a master does, split at every byte, corrupted, back to back.
/// </summary>
public class ModbusRtuCodecTests
{
    public static readonly TheoryData<string> Requests = new(
        "0101001300138C02",
        "010200C40016B839",
        "0103006B00037417",
        "010400080001B008",
        "010500ACFF004C1B",
        "010600010003980B",
        "010741E2",
        "01080000A537DA8D",
        "01080000123456787333",
        "010B41E7",
        "010C0025",
        "010F0013000A02CD0172CB",
        "01100001000204000A01029230",
        "0111C02C",
        "01140E0600040001000206000300090002F4FD",
        "01150D0600040007000306AF04BE100DD60B",
        "0116000400F2002567EE",
        "011700030006000E00030600FF00FF00FF4691",
        "011804DE0347",
        "012B0E01007077");

    public static readonly TheoryData<string> Responses = new(
        "010103CD6B054282",
        "010203ACDB352288",
        "010306022B00000064057A",
        "010402000A3937",
        "010500ACFF004C1B",
        "010600010003980B",
        "01076DE3DD",
        "01080000A537DA8D",
        "01080000123456787333", // 6.8.1: an echo of two data words, framed by its CRC without its request
        "010BFFFF0108A479",
        "010C0800000108012120000DC1",
        "010F0013000A2409",
        "0110000100021008",
        "0111052AFF6D63701188",
        "01140C05060DFE0020050633CD004079A1",
        "01150D0600040007000306AF04BE100DD60B",
        "0116000400F2002567EE",
        "01170C00FE0ACD00010003000D00FF1D79",
        "01180006000201B812841918",
        "012B0E010100000300046D637064010353494D0203302E31083D",
        "012B0E010100000027D7",
        "018302C0F1",
        "01AB019EF0",
        "01C101B050");

    [Fact]
    public void Read_of_ten_holding_registers_has_the_well_known_crc_low_byte_first()
    {
        var adu = new byte[ModbusRtuCodec.MaxAduLength];

        var length = ModbusRtuCodec.Encode(1, Convert.FromHexString("030000000A"), adu);

        Assert.Equal("01030000000AC5CD", Convert.ToHexString(adu, 0, length));
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Every_request_decodes_whole_and_encodes_back(string hex) => AssertGolden(hex, isResponse: false);

    [Theory]
    [MemberData(nameof(Responses))]
    public void Every_response_decodes_whole_and_encodes_back(string hex) => AssertGolden(hex, isResponse: true);

    [Theory]
    [MemberData(nameof(Requests))]
    public void Every_request_prefix_needs_more_data(string hex) => AssertPrefixesNeedMoreData(hex, isResponse: false);

    [Theory]
    [MemberData(nameof(Responses))]
    public void Every_response_prefix_needs_more_data(string hex) => AssertPrefixesNeedMoreData(hex, isResponse: true);

    [Theory]
    [MemberData(nameof(Requests))]
    public void Request_split_at_every_byte_boundary_decodes_as_whole(string hex) => AssertSplits(hex, isResponse: false);

    [Theory]
    [MemberData(nameof(Responses))]
    public void Response_split_at_every_byte_boundary_decodes_as_whole(string hex) => AssertSplits(hex, isResponse: true);

    [Fact]
    public void Requests_back_to_back_decode_in_order() => AssertBackToBack([.. Requests.Select(r => (string)r.Data)], isResponse: false);

    [Fact]
    public void Responses_back_to_back_decode_in_order() => AssertBackToBack([.. Responses.Select(r => (string)r.Data)], isResponse: true);

    [Fact]
    public void Return_query_data_is_answered_by_an_echo_as_long_as_its_request()
    {
        // Application Protocol 6.8.1: sub-function 00 loops back any number of data words; the response is identical.
        var adu = Convert.FromHexString("01080000123456787333");
        var buffer = new ReadOnlySequence<byte>([.. adu, .. Convert.FromHexString("010402000A3937")]);

        Assert.Equal(OperationStatus.Done, ModbusRtuCodec.DecodeResponse(buffer, adu.AsSpan(1, adu.Length - 3), out var frame, out var consumed));
        Assert.Equal("08000012345678", Convert.ToHexString(frame.Pdu.ToArray()));
        Assert.Equal(adu.Length, buffer.Slice(0, consumed).Length);
    }

    [Fact]
    public void Return_query_data_echo_decoded_without_its_request_is_framed_by_its_crc()
    {
        // The gateway once framed responses without their request: the echo was cut after one data word, failed its
        // CRC, and the client got 0x0B although the slave had answered. Framed by its CRC, it comes out whole.
        var adu = Convert.FromHexString("01080000123456787333");
        var buffer = new ReadOnlySequence<byte>([.. adu, .. Convert.FromHexString("010402000A3937")]);

        Assert.Equal(OperationStatus.Done, ModbusRtuCodec.DecodeResponse(buffer, out var frame, out var consumed));
        Assert.Equal("08000012345678", Convert.ToHexString(frame.Pdu.ToArray()));
        Assert.Equal(adu.Length, buffer.Slice(0, consumed).Length);
    }

    [Fact]
    public void Return_query_data_that_no_crc_ends_within_256_bytes_is_invalid()
    {
        var adu = new byte[ModbusRtuCodec.MaxAduLength];
        Convert.FromHexString("0108000012345678").CopyTo(adu, 0);

        Assert.Equal(OperationStatus.NeedMoreData, ModbusRtuCodec.DecodeRequest(new ReadOnlySequence<byte>(adu, 0, 200), out _, out _));
        Assert.Equal(OperationStatus.InvalidData, ModbusRtuCodec.DecodeRequest(new ReadOnlySequence<byte>(adu), out var frame, out var consumed));
        Assert.Equal(ModbusRtuError.InvalidLength, frame.Error);
        Assert.Equal(0, new ReadOnlySequence<byte>(adu).Slice(0, consumed).Length);
    }

    [Fact]
    public void Frame_delivered_byte_by_byte_decodes_as_whole()
    {
        var adu = Convert.FromHexString("012B0E010100000300046D637064010353494D0203302E31083D");
        var buffer = SegmentedSequence.Create([.. adu.Select(b => (ReadOnlyMemory<byte>)new[] { b })]);

        Assert.Equal(OperationStatus.Done, ModbusRtuCodec.DecodeResponse(buffer, out var frame, out _));
        Assert.Equal(adu[1..^2], frame.Pdu.ToArray());
    }

    /// <summary>The responses whose length their own bytes tell: all but the FC08/00 echo, which only its request measures.</summary>
    public static TheoryData<string> SelfDelimitedResponses => [.. Responses.Select(r => (string)r.Data).Where(hex => !hex.StartsWith("01080000", StringComparison.Ordinal))];

    [Theory]
    [MemberData(nameof(SelfDelimitedResponses))]
    public void A_corrupted_byte_fails_the_crc_and_the_next_frame_still_decodes(string hex) => AssertCorruptedThenNext(hex, request: []);

    [Theory]
    [InlineData("01080000A537DA8D")]
    [InlineData("01080000123456787333")]
    public void A_corrupted_echo_of_return_query_data_fails_the_crc_when_decoded_with_its_request(string hex) =>
        // Without its request a damaged echo has no end to find (no CRC matches); the master that sent it knows it.
        AssertCorruptedThenNext(hex, request: Convert.FromHexString(hex)[1..^2]);

    private static void AssertCorruptedThenNext(string hex, byte[] request)
    {
        var damaged = Convert.FromHexString(hex);
        damaged[^1] ^= 0x01;
        var next = Convert.FromHexString("010402000A3937");
        var buffer = new ReadOnlySequence<byte>([.. damaged, .. next]);

        var status = ModbusRtuCodec.DecodeResponse(buffer, request, out var frame, out var consumed);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Equal(ModbusRtuError.CrcMismatch, frame.Error);
        Assert.Equal(damaged.Length, buffer.Slice(0, consumed).Length);
        Assert.Equal(OperationStatus.Done, ModbusRtuCodec.DecodeResponse(buffer.Slice(consumed), out var good, out _));
        Assert.Equal("0402000A", Convert.ToHexString(good.Pdu.ToArray()));
    }

    [Fact]
    public void A_damaged_data_byte_fails_the_crc()
    {
        var adu = Convert.FromHexString("010306022B00000064057A");
        adu[4] ^= 0x80;

        Assert.Equal(OperationStatus.InvalidData, ModbusRtuCodec.DecodeResponse(new ReadOnlySequence<byte>(adu), out var frame, out _));
        Assert.Equal(ModbusRtuError.CrcMismatch, frame.Error);
        Assert.Equal(1, frame.Unit);
    }

    [Theory]
    [InlineData("0141", false)]
    [InlineData("0141", true)]
    [InlineData("0183", false)]
    [InlineData("012B0D", false)]
    [InlineData("012B0D", true)]
    [InlineData("0109", true)]
    public void Unknown_function_codes_are_invalid_and_consume_nothing(string hex, bool isResponse)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(hex + "0000000000"));

        var status = ModbusRtuCodec.Decode(buffer, isResponse, out var frame, out var consumed);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Equal(ModbusRtuError.UnknownFunction, frame.Error);
        Assert.Equal(buffer.Start, consumed);
    }

    [Theory]
    [InlineData("01180200")] // FIFO byte count 512
    [InlineData("012B0E010100000100FF")] // one object of 255 bytes
    public void Counts_announcing_more_than_256_bytes_are_invalid(string hex)
    {
        var adu = new byte[300];
        Convert.FromHexString(hex).CopyTo(adu, 0);

        var status = ModbusRtuCodec.DecodeResponse(new ReadOnlySequence<byte>(adu), out var frame, out _);

        Assert.Equal(OperationStatus.InvalidData, status);
        Assert.Equal(ModbusRtuError.InvalidLength, frame.Error);
    }

    [Fact]
    public void Exception_response_is_five_bytes_whatever_the_function()
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString("018302C0F1FFFF"));

        Assert.Equal(OperationStatus.Done, ModbusRtuCodec.DecodeResponse(buffer, out var frame, out var consumed));
        Assert.Equal("8302", Convert.ToHexString(frame.Pdu.ToArray()));
        Assert.Equal(5, buffer.Slice(0, consumed).Length);
    }

    [Fact]
    public void Encode_refuses_an_empty_or_oversized_pdu()
    {
        var adu = new byte[300];
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRtuCodec.Encode(1, [], adu));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModbusRtuCodec.Encode(1, new byte[254], adu));
    }

    [Fact]
    public void Random_bytes_never_throw_and_always_make_progress_or_stop()
    {
        var random = new Random(4321);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = new byte[random.Next(0, 600)];
            random.NextBytes(bytes);
            var buffer = new ReadOnlySequence<byte>(bytes);
            while (ModbusRtuCodec.Decode(buffer, round % 2 == 0, out var frame, out var consumed) != OperationStatus.NeedMoreData
                && buffer.Slice(consumed).Length < buffer.Length)
            {
                Assert.InRange(frame.Pdu.Length, 1, ModbusLimits.MaxPduLength);
                buffer = buffer.Slice(consumed);
            }
        }
    }

    [Theory]
    [InlineData(9600, 11, 4011, 1719)]
    [InlineData(9600, 10, 3646, 1563)]
    [InlineData(19200, 11, 2006, 860)]
    [InlineData(1200, 11, 32084, 13750)]
    [InlineData(19201, 11, 1750, 750)]
    [InlineData(115200, 11, 1750, 750)]
    public void Silent_intervals_follow_the_baud_rate_up_to_19200(int baud, int bits, int t35, int t15)
    {
        Assert.Equal(t35, ModbusRtuTiming.InterFrameDelayMicroseconds(baud, bits));
        Assert.Equal(t15, ModbusRtuTiming.InterCharacterTimeoutMicroseconds(baud, bits));
    }

    [Fact]
    public void Character_bits_count_start_data_parity_and_stop()
    {
        Assert.Equal(11, ModbusRtuTiming.CharacterBits(8, parity: true, stopBits: 1));
        Assert.Equal(11, ModbusRtuTiming.CharacterBits(8, parity: false, stopBits: 2));
        Assert.Equal(10, ModbusRtuTiming.CharacterBits(8, parity: false, stopBits: 1));
        Assert.Equal(1146, ModbusRtuTiming.CharacterTimeMicroseconds(9600));
    }

    private static void AssertGolden(string hex, bool isResponse)
    {
        var adu = Convert.FromHexString(hex);
        var buffer = new ReadOnlySequence<byte>(adu);

        var status = ModbusRtuCodec.Decode(buffer, isResponse, out var frame, out var consumed);

        Assert.Equal(OperationStatus.Done, status);
        Assert.Equal(ModbusRtuError.None, frame.Error);
        Assert.Equal(1, frame.Unit);
        Assert.Equal(buffer.End, consumed);
        var encoded = new ArrayBufferWriter<byte>();
        ModbusRtuCodec.Encode(frame.Unit, frame.Pdu.ToArray(), encoded);
        Assert.Equal(hex, Convert.ToHexString(encoded.WrittenSpan));
    }

    private static void AssertPrefixesNeedMoreData(string hex, bool isResponse)
    {
        var adu = Convert.FromHexString(hex);
        for (var length = 0; length < adu.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(adu, 0, length);

            Assert.Equal(OperationStatus.NeedMoreData, ModbusRtuCodec.Decode(buffer, isResponse, out _, out var consumed));
            Assert.Equal(buffer.Start, consumed);
        }
    }

    private static void AssertSplits(string hex, bool isResponse)
    {
        var adu = Convert.FromHexString(hex);
        for (var split = 1; split < adu.Length; split++)
        {
            var buffer = SegmentedSequence.Split(adu, split);

            Assert.Equal(OperationStatus.Done, ModbusRtuCodec.Decode(buffer, isResponse, out var frame, out var consumed));
            Assert.Equal(adu[1..^2], frame.Pdu.ToArray());
            Assert.Equal(buffer.End, consumed);
        }
    }

    private static void AssertBackToBack(string[] adus, bool isResponse)
    {
        var all = adus.SelectMany(Convert.FromHexString).ToArray();
        for (var split = 1; split < all.Length; split += 7)
        {
            var buffer = SegmentedSequence.Split(all, split);
            var decoded = new List<string>();
            while (ModbusRtuCodec.Decode(buffer, isResponse, out var frame, out var consumed) == OperationStatus.Done)
            {
                decoded.Add(Convert.ToHexString(frame.Pdu.ToArray()));
                buffer = buffer.Slice(consumed);
            }

            Assert.Equal(0, buffer.Length);
            Assert.Equal(adus.Select(a => a[2..^4]), decoded);
        }
    }
}
