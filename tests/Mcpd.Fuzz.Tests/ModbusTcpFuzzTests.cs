using CsCheck;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Target <c>modbus-tcp</c>: what a Modbus TCP connection does with the bytes it reads, ModbusTcpCodec.Decode, then
/// for a Modbus frame (protocol id 0) the request PDU on a simulated device (ModbusPduProcessor).
/// </summary>
public class ModbusTcpFuzzTests
{
    private static readonly Gen<byte[]> ValidAdus = Gen.Select(Gen.UShort, Gen.Byte, ModbusRequests.Pdu, (transaction, unit, pdu) =>
    {
        var output = new ArrayBufferWriter<byte>();
        ModbusTcpCodec.Encode(transaction, unit, pdu, output);
        return output.WrittenSpan.ToArray();
    });

    private readonly SimulatedDevice _device = FuzzDevice.Create();

    [Fact]
    public void Decoding_and_answering_holds_the_codec_contract_and_answers_every_request_validly() =>
        Fuzzer.Run("modbus-tcp", bytes => Check(new FuzzInput(bytes, 0)), Mutations.Inputs(ValidAdus), Check, input => input.Bytes);

    /// <summary>
    /// The codec contract; a frame is the 7-byte header and the PDU its length field announces, and encodes back to
    /// the same bytes; a length field outside 2..254 is InvalidData; a promised frame decodes first, whatever follows;
    /// every request PDU gets a valid answer (<see cref="FuzzDevice.Answer"/>).
    /// </summary>
    private void Check(FuzzInput input)
    {
        var outcome = CodecContract.Check(input.Bytes, Decode);
        if (input.ValidLength > 0)
        {
            Assert.Equal((OperationStatus.Done, input.ValidLength), (outcome.Status, outcome.Consumed));
        }

        var buffer = new ReadOnlySequence<byte>(input.Bytes);
        var status = ModbusTcpCodec.Decode(buffer, out var frame, out _);
        if (status == OperationStatus.InvalidData)
        {
            Assert.True(frame.Header.Length is < ModbusLimits.MinMbapLength or > ModbusLimits.MaxMbapLength, $"{frame.Header} refused");
        }

        if (status != OperationStatus.Done)
        {
            return;
        }

        Assert.Equal(ModbusLimits.MbapHeaderLength + frame.Header.PduLength, outcome.Consumed);
        var pdu = frame.Pdu.ToArray();
        if (frame.Header.ProtocolId == 0)
        {
            var encoded = new ArrayBufferWriter<byte>();
            ModbusTcpCodec.Encode(frame.Header.TransactionId, frame.Header.UnitId, pdu, encoded);
            Assert.Equal(Convert.ToHexString(input.Bytes, 0, (int)outcome.Consumed), Convert.ToHexString(encoded.WrittenSpan));
            FuzzDevice.Answer(_device, pdu);
        }
    }

    private static DecodeOutcome Decode(ReadOnlySequence<byte> buffer)
    {
        var status = ModbusTcpCodec.Decode(buffer, out var frame, out var consumed);
        var described = status switch
        {
            OperationStatus.Done => $"{frame.Header} PDU {Convert.ToHexString(frame.Pdu.ToArray())}",
            OperationStatus.InvalidData => $"{frame.Header}",
            _ => "",
        };
        return new DecodeOutcome(status, CodecContract.Offset(buffer, consumed), described);
    }
}
