using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// The simulated device requests are fuzzed against (ModbusPduProcessor behind it), with read-only ranges and
/// identification objects long enough that Report Server ID is cut and Read Device Identification streams page.
/// </summary>
internal static class FuzzDevice
{
    public const ushort TableSize = 10_000;
    public const ushort ReadOnlyStart = 100;
    public const ushort ReadOnlyCount = 50;

    /// <summary>Larger than any PDU: what a device writes past <see cref="ModbusLimits.MaxPduLength"/> shows.</summary>
    private const int ResponseBufferLength = 2 * ModbusLimits.MaxPduLength;

    private const byte Untouched = 0xA5;

    public static SimulatedDevice Create() => new(new DeviceOptions
    {
        Unit = 17,
        Coils = TableSize,
        DiscreteInputs = TableSize,
        HoldingRegisters = TableSize,
        InputRegisters = TableSize,
        ReadOnly =
        [
            new ReadOnlyRangeOptions { Table = RegisterTable.Coils, Address = ReadOnlyStart, Count = ReadOnlyCount },
            new ReadOnlyRangeOptions { Table = RegisterTable.Holding, Address = ReadOnlyStart, Count = ReadOnlyCount },
        ],
        Identification = new DeviceIdentificationOptions
        {
            VendorName = new string('v', 120),
            VendorUrl = "https://example.invalid/" + new string('u', 100),
            Private = { ["0x80"] = new string('p', DeviceIdentificationObjects.MaxObjectLength), ["0x81"] = "private", ["0xFF"] = new string('z', 200) },
        },
    });

    /// <summary>
    /// Runs <paramref name="request"/> and checks the answer as a client would judge it: at most
    /// <see cref="ModbusLimits.MaxPduLength"/> bytes with nothing written past them; an exception (7) is the request's
    /// function with the high bit and one code of 01..04; a normal response is the request's function, repeats what it
    /// must of the request, has the length the request implies (<see cref="ModbusResponsePdu.Answers"/>) and is as long
    /// as its own byte counts say (<see cref="ModbusFunctionTable.ResponseLength"/>, how an RTU master frames it).
    /// Returns the response.
    /// </summary>
    public static byte[] Answer(SimulatedDevice device, ReadOnlySpan<byte> request)
    {
        var buffer = new byte[ResponseBufferLength];
        Array.Fill(buffer, Untouched);
        var length = device.Execute(request, buffer);
        var response = buffer[..length];
        var answer = $"{Convert.ToHexString(request)} answered {Convert.ToHexString(response)}";
        Assert.InRange(length, ModbusFunctionTable.ExceptionResponseLength, ModbusLimits.MaxPduLength);
        Assert.True(buffer.AsSpan(ModbusLimits.MaxPduLength).IndexOfAnyExcept(Untouched) < 0, $"{answer}: written past {ModbusLimits.MaxPduLength} bytes");
        if (ModbusFunctionTable.IsException(response[0]))
        {
            Assert.True(
                response.Length == ModbusFunctionTable.ExceptionResponseLength && response[0] == (request[0] | ModbusLimits.ExceptionFlag) && response[1] is >= 0x01 and <= 0x04,
                $"{answer}: not an exception response to it");
            return response;
        }

        Assert.True(ModbusResponsePdu.Answers(request, response), $"{answer}: not a response to it");
        var framed = ModbusFunctionTable.ResponseLength(response, request, out var framedLength, out var openEnded);
        Assert.True(framed == OperationStatus.Done && framedLength == length && !openEnded, $"{answer}: its own counts say {framed} {framedLength} bytes{(openEnded ? " or more" : "")}");
        return response;
    }
}
