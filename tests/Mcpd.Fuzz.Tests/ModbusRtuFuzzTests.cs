using CsCheck;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Target <c>modbus-rtu</c>: ModbusRtuCodec both ways, on what a serial line carries: a request, then its answer.
/// An input is decoded as a stream of requests (a slave), as a stream of responses to unknown requests, and, when a
/// request decodes first, the rest as the response to that request (the master that sent it).
/// </summary>
public class ModbusRtuFuzzTests
{
    private readonly SimulatedDevice _device = FuzzDevice.Create();

    [Fact]
    public void Decoding_requests_and_responses_holds_the_codec_contract_and_round_trips() =>
        Fuzzer.Run("modbus-rtu", bytes => Check(new RtuExchange(bytes, 0, 0)), Exchanges(), Check, exchange => exchange.Bytes);

    /// <summary>A request ADU, the device's answer to it as an ADU, and garbage; most of them mutated.</summary>
    private Gen<RtuExchange> Exchanges()
    {
        var valid = Gen.Select(Gen.Byte[1, 247], ModbusRequests.Pdu, (unit, request) =>
            (Request: Adu(unit, request), Response: Adu(unit, FuzzDevice.Answer(_device, request))))
            .Where(exchange => ModbusRequests.IsUnambiguousRtu(exchange.Request));
        return Gen.Frequency(
            (4, Mutations.Of(valid.Select(exchange => (byte[])[.. exchange.Request, .. exchange.Response])).Select(bytes => new RtuExchange(bytes, 0, 0))),
            (1, Gen.Select(valid, Gen.Byte.Array[0, 64], (exchange, garbage) =>
                new RtuExchange([.. exchange.Request, .. exchange.Response, .. garbage], exchange.Request.Length, exchange.Response.Length))));
    }

    /// <summary>
    /// The codec contract in each direction; a promised request and answer decode as such, whatever follows; a frame
    /// encodes back to the same bytes; a CRC mismatch is a frame whose bytes differ from its encoding in the CRC only.
    /// </summary>
    private static void Check(RtuExchange exchange)
    {
        var input = exchange.Bytes;
        var asResponse = CodecContract.Check(input, buffer => Decode(buffer, isResponse: true, ReadOnlySpan<byte>.Empty));
        CheckRoundTrip(input, asResponse, isResponse: true, ReadOnlySpan<byte>.Empty);
        var asRequest = CodecContract.Check(input, buffer => Decode(buffer, isResponse: false, ReadOnlySpan<byte>.Empty));
        CheckRoundTrip(input, asRequest, isResponse: false, ReadOnlySpan<byte>.Empty);
        if (exchange.RequestLength > 0)
        {
            Assert.Equal((OperationStatus.Done, exchange.RequestLength), (asRequest.Status, asRequest.Consumed));
        }

        if (asRequest.Status != OperationStatus.Done)
        {
            return;
        }

        var request = input.AsSpan(ModbusRtuCodec.AddressLength, (int)asRequest.Consumed - ModbusRtuCodec.AddressLength - ModbusRtuCodec.CrcLength).ToArray();
        var rest = input[(int)asRequest.Consumed..];
        var answer = CodecContract.Check(rest, buffer => Decode(buffer, isResponse: true, request));
        CheckRoundTrip(rest, answer, isResponse: true, request);
        if (exchange.ResponseLength > 0)
        {
            Assert.Equal((OperationStatus.Done, exchange.ResponseLength), (answer.Status, answer.Consumed));
        }
    }

    private static void CheckRoundTrip(byte[] input, DecodeOutcome outcome, bool isResponse, ReadOnlySpan<byte> request)
    {
        var status = Decode(new ReadOnlySequence<byte>(input), isResponse, request, out var frame);
        if (status == OperationStatus.NeedMoreData || (status == OperationStatus.InvalidData && frame.Error != ModbusRtuError.CrcMismatch))
        {
            Assert.Equal(0, outcome.Consumed);
            return;
        }

        var received = input.AsSpan(0, (int)outcome.Consumed);
        var encoded = new byte[ModbusRtuCodec.MaxAduLength];
        var length = ModbusRtuCodec.Encode(frame.Unit, frame.Pdu.ToArray(), encoded);
        Assert.Equal(received.Length, length);
        var crc = received.Length - ModbusRtuCodec.CrcLength;
        Assert.Equal(Convert.ToHexString(received[..crc]), Convert.ToHexString(encoded, 0, crc));
        Assert.Equal(status == OperationStatus.Done, received[crc..].SequenceEqual(encoded.AsSpan(crc, ModbusRtuCodec.CrcLength)));
    }

    private static DecodeOutcome Decode(ReadOnlySequence<byte> buffer, bool isResponse, ReadOnlySpan<byte> request)
    {
        var status = Decode(buffer, isResponse, request, out var frame, out var consumed);
        return new DecodeOutcome(status, CodecContract.Offset(buffer, consumed), $"unit {frame.Unit} {frame.Error} PDU {Convert.ToHexString(frame.Pdu.ToArray())}");
    }

    private static OperationStatus Decode(in ReadOnlySequence<byte> buffer, bool isResponse, ReadOnlySpan<byte> request, out ModbusRtuFrame frame) =>
        Decode(buffer, isResponse, request, out frame, out _);

    private static OperationStatus Decode(in ReadOnlySequence<byte> buffer, bool isResponse, ReadOnlySpan<byte> request, out ModbusRtuFrame frame, out SequencePosition consumed) =>
        request.IsEmpty
            ? ModbusRtuCodec.Decode(buffer, isResponse, out frame, out consumed)
            : ModbusRtuCodec.DecodeResponse(buffer, request, out frame, out consumed);

    private static byte[] Adu(byte unit, byte[] pdu)
    {
        var adu = new byte[ModbusRtuCodec.MaxAduLength];
        return adu[..ModbusRtuCodec.Encode(unit, pdu, adu)];
    }
}

/// <summary>An RTU line's bytes; when the lengths are not 0, a valid request of that many bytes comes first, then its answer.</summary>
internal sealed record RtuExchange(byte[] Bytes, int RequestLength, int ResponseLength)
{
    public override string ToString() => RequestLength == 0 ? "no frame promised" : $"a request of {RequestLength} bytes, its answer of {ResponseLength}, then garbage";
}
