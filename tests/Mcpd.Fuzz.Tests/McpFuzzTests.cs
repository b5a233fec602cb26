using Mcpd.Protocols.Mcp;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Target <c>mcp</c>: what an MCP connection on plain framing does with the bytes it reads: McpChannelCodec.Decode
/// over PlainFrameLayer, then the payload parsed as its frame type says (McpPayload, McpHeaders).
/// </summary>
public class McpFuzzTests
{
    private static readonly McpChannelCodec Channel = McpChannelCodec.For(McpFraming.Plain, McpFrames.MaxPayloadLength);

    [Fact]
    public void Decoding_frames_and_payloads_holds_the_codec_contract_and_round_trips() =>
        Fuzzer.Run("mcp", bytes => Check(new FuzzInput(bytes, 0)), Mutations.Inputs(McpFrames.Frame), Check, input => input.Bytes);

    /// <summary>
    /// The codec contract, the payload's parse included; a frame is the 8-byte header and the payload it announces,
    /// and what its payload parses to writes it back byte for byte; a refused header says why (magic, then version,
    /// then length); a promised frame no larger than the limit decodes first, whatever follows.
    /// </summary>
    private static void Check(FuzzInput input)
    {
        var outcome = CodecContract.Check(input.Bytes, Decode);
        if (input.ValidLength > 0 && input.ValidLength - McpFrameHeader.Length <= McpFrames.MaxPayloadLength)
        {
            Assert.Equal((OperationStatus.Done, input.ValidLength), (outcome.Status, outcome.Consumed));
        }

        var status = Channel.Decode(new ReadOnlySequence<byte>(input.Bytes), out var frame, out _, out var error, out _);
        switch (status)
        {
            case OperationStatus.InvalidData:
                var header = frame.Header;
                var expected = input.Bytes.Length < McpFrameHeader.Length || header.Magic != McpFrameHeader.ExpectedMagic ? McpFrameError.BadMagic
                    : header.Version != McpFrameHeader.CurrentVersion ? McpFrameError.UnsupportedVersion
                    : McpFrameError.FrameTooLarge;
                Assert.Equal(expected, error);
                Assert.True(expected != McpFrameError.FrameTooLarge || header.PayloadLength > McpFrames.MaxPayloadLength, $"{header} refused");
                break;
            case OperationStatus.Done:
                Assert.Equal(McpFrameHeader.Length + frame.Header.PayloadLength, outcome.Consumed);
                Assert.Equal(Convert.ToHexString(input.Bytes, 0, (int)outcome.Consumed), Convert.ToHexString(McpFrames.Rewrite(frame)));
                break;
        }
    }

    private static DecodeOutcome Decode(ReadOnlySequence<byte> buffer)
    {
        var status = Channel.Decode(buffer, out var frame, out var consumed, out var error, out var dropped);
        Assert.Equal(0, dropped);
        var described = status == OperationStatus.Done ? McpFrames.Describe(frame) : $"{error}";
        return new DecodeOutcome(status, CodecContract.Offset(buffer, consumed), described);
    }
}
