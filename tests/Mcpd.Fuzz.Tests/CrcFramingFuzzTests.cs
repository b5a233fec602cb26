using CsCheck;
using Mcpd.Protocols.Framing;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Target <c>crc-framing</c>: the 0x5A CRC framing, resynchronising. An input is decoded by CrcFrameCodec with no
/// payload rules, and by the MCP channel over CrcFrameLayer as an MCP listener with <c>framing: crc</c> reads it.
/// </summary>
public class CrcFramingFuzzTests
{
    private static readonly McpChannelCodec Channel = McpChannelCodec.For(McpFraming.Crc, McpFrames.MaxPayloadLength);

    /// <summary>CRC frames around MCP frames (what the MCP layer accepts) and around any bytes.</summary>
    private static readonly Gen<byte[]> ValidFrames = Gen.Frequency((3, McpFrames.Frame), (1, Gen.Byte.Array[0, 64])).Select(Wrap);

    [Fact]
    public void Resynchronising_decode_holds_the_codec_contract_accounts_for_every_byte_and_round_trips() =>
        Fuzzer.Run("crc-framing", bytes => Check(new CrcStream(bytes, 0, 0)), Streams(), Check, stream => stream.Bytes);

    /// <summary>Mutated frames, and noise without a start byte, then a valid frame, then garbage.</summary>
    private static Gen<CrcStream> Streams() => Gen.Frequency(
        (4, Mutations.Of(ValidFrames).Select(bytes => new CrcStream(bytes, 0, 0))),
        (1, Gen.Select(Gen.Byte.Array[0, 64], ValidFrames, Gen.Byte.Array[0, 64], (noise, frame, garbage) =>
        {
            var skipped = noise.Where(b => b != CrcFrameCodec.StartByte).ToArray();
            return new CrcStream([.. skipped, .. frame, .. garbage], skipped.Length, frame.Length);
        })));

    /// <summary>
    /// For both decoders: the codec contract (as a resynchronising decoder); every byte consumed is either dropped or
    /// part of the frame returned; the codec never gives up (no InvalidData) and its frame is the CRC frame of its
    /// payload; the channel's frame is exactly one MCP frame written back byte for byte; a promised frame after noise
    /// without a start byte decodes first, with the noise dropped; delivered in chunks, the stream gives the same
    /// frames, drops and leftover as in one read.
    /// </summary>
    private static void Check(CrcStream stream)
    {
        var input = stream.Bytes;
        var codec = CodecContract.Check(input, DecodeCodec, resynchronising: true);
        Assert.NotEqual(OperationStatus.InvalidData, codec.Status);
        CodecContract.Check(input, DecodeChannel, resynchronising: true);
        if (stream.FrameLength > 0)
        {
            CrcFrameCodec.Decode(new ReadOnlySequence<byte>(input), 0, CrcFrameCodec.MaxPayloadLength, [], long.MaxValue, out _, out _, out var dropped, out _);
            Assert.Equal((OperationStatus.Done, stream.FrameStart + stream.FrameLength, stream.FrameStart), (codec.Status, codec.Consumed, dropped));
        }

        var chunks = new Random(input.Length).Next(1, 8);
        Assert.Equal(DecodeAll(input, input.Length), DecodeAll(input, chunks));
    }

    private static DecodeOutcome DecodeCodec(ReadOnlySequence<byte> buffer)
    {
        var status = CrcFrameCodec.Decode(buffer, 0, CrcFrameCodec.MaxPayloadLength, [], long.MaxValue, out var payload, out var consumed, out var dropped, out _);
        var offset = CodecContract.Offset(buffer, consumed);
        var frameLength = status == OperationStatus.Done ? CrcFrameCodec.HeaderLength + payload.Length + CrcFrameCodec.TrailerLength : 0;
        Assert.Equal(offset, dropped + frameLength);
        if (status == OperationStatus.Done)
        {
            var frame = buffer.Slice(dropped, frameLength).ToArray();
            Assert.Equal(Convert.ToHexString(frame), Convert.ToHexString(Wrap(payload.ToArray())));
        }

        return new DecodeOutcome(status, offset, $"dropped {dropped}; {Convert.ToHexString(payload.ToArray())}");
    }

    private static DecodeOutcome DecodeChannel(ReadOnlySequence<byte> buffer)
    {
        var status = Channel.Decode(buffer, out var frame, out var consumed, out var error, out var dropped);
        var offset = CodecContract.Offset(buffer, consumed);
        if (status == OperationStatus.Done)
        {
            var mcp = McpFrames.Rewrite(frame);
            Assert.True(mcp.Length <= McpFrameHeader.Length + McpFrames.MaxPayloadLength);
            Assert.Equal(Convert.ToHexString(buffer.Slice(dropped).ToArray(), 0, (int)(offset - dropped)), Convert.ToHexString(Wrap(mcp)));
        }

        var described = status == OperationStatus.Done ? McpFrames.Describe(frame) : $"{error}";
        return new DecodeOutcome(status, offset, $"dropped {dropped}; {described}");
    }

    /// <summary>The frames and the drop count of <paramref name="input"/> delivered in <paramref name="chunks"/> reads, decoded as a read loop does.</summary>
    private static string DecodeAll(byte[] input, int chunks)
    {
        var frames = new List<string>();
        var (start, dropped) = (0, 0L);
        for (var chunk = 1; chunk <= chunks; chunk++)
        {
            var end = input.Length * chunk / chunks;
            while (true)
            {
                var buffer = new ReadOnlySequence<byte>(input, start, end - start);
                var status = CrcFrameCodec.Decode(buffer, 0, CrcFrameCodec.MaxPayloadLength, [], long.MaxValue, out var payload, out var consumed, out var skipped, out _);
                start += (int)CodecContract.Offset(buffer, consumed);
                dropped += skipped;
                if (status != OperationStatus.Done)
                {
                    break;
                }

                frames.Add(Convert.ToHexString(payload.ToArray()));
            }
        }

        return $"{string.Join(" ", frames)}; dropped {dropped}; left {input.Length - start}";
    }

    private static byte[] Wrap(byte[] payload)
    {
        var output = new ArrayBufferWriter<byte>();
        CrcFrameCodec.Encode(payload, output);
        return output.WrittenSpan.ToArray();
    }
}

/// <summary>Bytes of a CRC-framed link; when <see cref="FrameLength"/> is not 0, a valid frame of that length starts at <see cref="FrameStart"/> after noise without a start byte.</summary>
internal sealed record CrcStream(byte[] Bytes, int FrameStart, int FrameLength)
{
    public override string ToString() => FrameLength == 0 ? "no frame promised" : $"{FrameStart} bytes of noise, a valid frame of {FrameLength} bytes, then garbage";
}
