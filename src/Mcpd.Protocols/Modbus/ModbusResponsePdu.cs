using System.Buffers.Binary;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Writes exception responses and reads normal responses (Modbus Application Protocol V1.1b3, sections 6 and 7).
/// The readers check every length and echo a well-behaved server produces, and throw <see cref="FormatException"/>
/// naming what was wrong, so a client never hands out data from a malformed response.
/// </summary>
public static class ModbusResponsePdu
{
    /// <summary>7: the request's function code with the high bit set, then the exception code; returns 2.</summary>
    public static int WriteException(Span<byte> destination, byte function, ModbusExceptionCode code)
    {
        destination[0] = (byte)(function | ModbusLimits.ExceptionFlag);
        destination[1] = (byte)code;
        return 2;
    }

    /// <summary>True when <paramref name="pdu"/> is an exception response; <paramref name="code"/> is its code.</summary>
    public static bool IsException(ReadOnlySpan<byte> pdu, out ModbusExceptionCode code)
    {
        if (pdu.Length >= 2 && (pdu[0] & ModbusLimits.ExceptionFlag) != 0)
        {
            code = (ModbusExceptionCode)pdu[1];
            return true;
        }

        code = default;
        return false;
    }

    /// <summary>
    /// What makes <paramref name="response"/> an impossible answer to <paramref name="request"/>, or null when its
    /// shape fits: the same function (7: or the function with the high bit set and one exception code), and the
    /// length the request implies when it implies one (<see cref="ModbusFunctionDescriptor.TryDescribeResponse"/>).
    /// Values are not judged.
    /// </summary>
    public static string? FindMismatch(ReadOnlySpan<byte> request, ReadOnlySpan<byte> response)
    {
        if (response.IsEmpty)
        {
            return "an empty PDU";
        }

        var function = request[0];
        if (response[0] == (function | ModbusLimits.ExceptionFlag))
        {
            return response.Length == ModbusFunctionTable.ExceptionResponseLength ? null : $"an exception response of {response.Length} bytes (7: exactly {ModbusFunctionTable.ExceptionResponseLength})";
        }

        if (response[0] != function)
        {
            return $"function 0x{response[0]:X2} in answer to 0x{function:X2}";
        }

        return !ModbusFunctionTable.Get(function).TryDescribeResponse(request, out var expected, out _) || expected == 0 || expected == response.Length
            ? null
            : $"{response.Length} bytes in answer to function 0x{function:X2} ({expected} expected)";
    }

    /// <summary>
    /// True when <paramref name="response"/> can be the answer to <paramref name="request"/>: the same function or its
    /// exception (7), and for a normal response the length the request implies and the bytes it repeats (6.x). Stricter
    /// than <see cref="FindMismatch"/>: on an RTU line, which has no transaction id, this is what tells a late answer
    /// to an earlier request from the answer.
    /// </summary>
    public static bool Answers(ReadOnlySpan<byte> request, ReadOnlySpan<byte> response)
    {
        if (response.IsEmpty || (response[0] & ~ModbusLimits.ExceptionFlag) != request[0])
        {
            return false;
        }

        if (ModbusFunctionTable.IsException(response[0]))
        {
            return response.Length == ModbusFunctionTable.ExceptionResponseLength;
        }

        return ModbusFunctionTable.Get(request[0]).TryDescribeResponse(request, out var length, out var echoed)
            && (length == 0 || response.Length == length)
            && response.Length >= echoed
            && response[..echoed].SequenceEqual(request[..echoed]);
    }

    /// <summary>FC01/02 response: byte count = ceil(N/8), then the packed bits.</summary>
    public static void ReadBits(ReadOnlySpan<byte> pdu, ModbusFunctionCode function, Span<bool> destination)
    {
        ExpectFunction(pdu, function);
        var byteCount = ModbusDataEncoding.PackedBitLength(destination.Length);
        if (pdu.Length != 2 + byteCount || pdu[1] != byteCount)
        {
            throw new FormatException($"Expected {byteCount} data bytes for {destination.Length} bits, got a {pdu.Length}-byte response with byte count {(pdu.Length > 1 ? pdu[1] : 0)}.");
        }

        ModbusDataEncoding.UnpackBits(pdu[2..], destination);
    }

    /// <summary>FC03/04/17 response: byte count = 2N, then the registers.</summary>
    public static void ReadRegisters(ReadOnlySpan<byte> pdu, ModbusFunctionCode function, Span<ushort> destination)
    {
        ExpectFunction(pdu, function);
        var byteCount = destination.Length * 2;
        if (pdu.Length != 2 + byteCount || pdu[1] != byteCount)
        {
            throw new FormatException($"Expected {byteCount} data bytes for {destination.Length} registers, got a {pdu.Length}-byte response with byte count {(pdu.Length > 1 ? pdu[1] : 0)}.");
        }

        ModbusDataEncoding.ReadRegisters(pdu[2..], destination);
    }

    /// <summary>
    /// FC05/06/16 echo the request; FC0F/10 echo its first five bytes (function, address, quantity): the response is
    /// exactly the bytes <see cref="ModbusFunctionDescriptor.TryDescribeResponse"/> says it repeats.
    /// </summary>
    public static void ExpectEcho(ReadOnlySpan<byte> pdu, ReadOnlySpan<byte> request)
    {
        ModbusFunctionTable.Get(request[0]).TryDescribeResponse(request, out _, out var echoedLength);
        var echoed = request[..echoedLength];
        ExpectFunction(pdu, (ModbusFunctionCode)request[0]);
        if (!pdu.SequenceEqual(echoed))
        {
            throw new FormatException($"The response does not echo the request: sent {Convert.ToHexString(echoed)}, got {Convert.ToHexString(pdu)}.");
        }
    }

    /// <summary>
    /// FC2B/0E response: reads the header and the objects into <paramref name="objects"/>; returns the next object id
    /// when More Follows is 0xFF, else null.
    /// </summary>
    public static byte? ReadDeviceIdentification(ReadOnlySpan<byte> pdu, IDictionary<byte, string> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        ExpectFunction(pdu, ModbusFunctionCode.EncapsulatedInterfaceTransport);
        if (pdu.Length < DeviceIdentificationObjects.ResponseHeaderLength || pdu[1] != DeviceIdentificationObjects.MeiType)
        {
            throw new FormatException($"Not a Read Device Identification response: {Convert.ToHexString(pdu)}.");
        }

        var position = DeviceIdentificationObjects.ResponseHeaderLength;
        for (var i = 0; i < pdu[6]; i++)
        {
            if (position + 2 > pdu.Length || position + 2 + pdu[position + 1] > pdu.Length)
            {
                throw new FormatException($"Object {i} of {pdu[6]} runs past the end of the response.");
            }

            objects[pdu[position]] = System.Text.Encoding.UTF8.GetString(pdu.Slice(position + 2, pdu[position + 1]));
            position += 2 + pdu[position + 1];
        }

        return pdu[4] == 0xFF ? pdu[5] : null;
    }

    /// <summary>Reads the big-endian word at <paramref name="offset"/> of a response.</summary>
    public static ushort ReadWord(ReadOnlySpan<byte> pdu, int offset) => BinaryPrimitives.ReadUInt16BigEndian(pdu[offset..]);

    private static void ExpectFunction(ReadOnlySpan<byte> pdu, ModbusFunctionCode function)
    {
        if (pdu.IsEmpty || pdu[0] != (byte)function)
        {
            throw new FormatException($"Expected a response to function 0x{(byte)function:X2}, got {Convert.ToHexString(pdu)}.");
        }
    }
}
