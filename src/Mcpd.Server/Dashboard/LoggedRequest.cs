using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Admin;
using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// A request of the request log, decoded as a protocol analyser shows it: when, from whom, to which unit, the function,
/// the table and address range it names (Application Protocol 6.1-6.17), what it wrote or read (the first values),
/// the result (ok, an exception, no answer), how long it took, and the PDUs' first bytes in hex.
/// </summary>
internal sealed record LoggedRequest(
    long Sequence, DateTimeOffset At, string? Client, string? Connection, int Unit, string Function, string? Table, int? Address, int? Count,
    string Summary, string Result, bool Ok, double DurationUs, string RequestHex, string ResponseHex)
{
    private const int ShownValues = 8;

    public static LoggedRequest Decode(long sequence, ModbusRequestRecord record, DateTimeOffset now, long nowTimestamp)
    {
        var request = record.Request.AsSpan();
        var response = record.Response.AsSpan();
        var function = request.IsEmpty ? (byte)0 : request[0];
        var (table, address, count, summary) = Describe(function, request, response, record.RequestLength > request.Length, record.ResponseLength > response.Length);
        var exception = response.Length > 1 && (response[0] & ModbusLimits.ExceptionFlag) != 0 ? response[1] : (byte)0;
        var result = record.ResponseLength == 0 ? "no answer"
            : exception != 0 ? string.Create(CultureInfo.InvariantCulture, $"exception {exception:X2} {ExceptionName(exception)}")
            : "ok";
        return new LoggedRequest(
            sequence,
            now - Stopwatch.GetElapsedTime(record.Ended, nowTimestamp),
            record.Remote?.ToString(),
            record.ConnectionId,
            record.Unit,
            FunctionName(function),
            table is { } t ? DeviceRegisters.NameOf(t) : null,
            address,
            count,
            summary,
            result,
            result == "ok",
            Math.Round(Stopwatch.GetElapsedTime(record.Started, record.Ended).TotalMicroseconds, 1),
            Hex(request, record.RequestLength),
            Hex(response, record.ResponseLength));
    }

    /// <summary>The function as "03 read holding registers", or its code alone when mcpd does not know it.</summary>
    private static string FunctionName(byte function)
    {
        var code = (ModbusFunctionCode)(function & 0x7F);
        var name = Enum.IsDefined(code) ? " " + Words(code.ToString()) : "";
        return string.Create(CultureInfo.InvariantCulture, $"{function & 0x7F:X2}{name}");
    }

    private static string ExceptionName(byte exception) =>
        Enum.IsDefined((ModbusExceptionCode)exception) ? Words(((ModbusExceptionCode)exception).ToString()) : "";

    /// <summary>"ReadHoldingRegisters" as "read holding registers".</summary>
    private static string Words(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static (RegisterTable? Table, int? Address, int? Count, string Summary) Describe(byte function, ReadOnlySpan<byte> request, ReadOnlySpan<byte> response, bool requestCut, bool responseCut)
    {
        var ok = response.Length > 0 && (response[0] & ModbusLimits.ExceptionFlag) == 0;
        ushort Word(ReadOnlySpan<byte> pdu, int offset) => BinaryPrimitives.ReadUInt16BigEndian(pdu[offset..]);
        switch ((ModbusFunctionCode)function)
        {
            case ModbusFunctionCode.ReadCoils or ModbusFunctionCode.ReadDiscreteInputs or ModbusFunctionCode.ReadHoldingRegisters or ModbusFunctionCode.ReadInputRegisters when request.Length >= 5:
            {
                var table = function switch { 1 => RegisterTable.Coils, 2 => RegisterTable.Discrete, 3 => RegisterTable.Holding, _ => RegisterTable.Input };
                var (start, quantity) = (Word(request, 1), Word(request, 3));
                var values = !ok || response.Length < 2 ? "" : " → " + (RegisterDefinition.IsBitTable(table) ? Bits(response[2..], quantity) : Words(response[2..], responseCut));
                return (table, start, quantity, $"read {DeviceRegisters.NameOf(table)} {Range(start, quantity)}{values}");
            }

            case ModbusFunctionCode.WriteSingleCoil when request.Length >= 5:
                return (RegisterTable.Coils, Word(request, 1), 1, $"write coil {Word(request, 1)} ← {(Word(request, 3) == 0xFF00 ? "on" : "off")}");
            case ModbusFunctionCode.WriteSingleRegister when request.Length >= 5:
                return (RegisterTable.Holding, Word(request, 1), 1, $"write holding {Word(request, 1)} ← {Word(request, 3)}");
            case ModbusFunctionCode.WriteMultipleCoils when request.Length >= 6:
                return (RegisterTable.Coils, Word(request, 1), Word(request, 3), $"write coils {Range(Word(request, 1), Word(request, 3))} ← {Bits(request[6..], Word(request, 3))}");
            case ModbusFunctionCode.WriteMultipleRegisters when request.Length >= 6:
                return (RegisterTable.Holding, Word(request, 1), Word(request, 3), $"write holding {Range(Word(request, 1), Word(request, 3))} ← {Words(request[6..], requestCut)}");
            case ModbusFunctionCode.MaskWriteRegister when request.Length >= 7:
                return (RegisterTable.Holding, Word(request, 1), 1, $"mask holding {Word(request, 1)} AND 0x{Word(request, 3):X4} OR 0x{Word(request, 5):X4}");
            case ModbusFunctionCode.ReadWriteMultipleRegisters when request.Length >= 9:
                return (RegisterTable.Holding, Word(request, 1), Word(request, 3),
                    $"read holding {Range(Word(request, 1), Word(request, 3))}, write holding {Range(Word(request, 5), Word(request, 7))}");
            default:
                return (null, null, null, FunctionName(function)[3..]);
        }
    }

    private static string Range(int start, int quantity) => quantity <= 1 ? $"{start}" : $"{start}..{start + quantity - 1}";

    /// <summary>The first registers of a PDU tail (those the log kept), "…" when more followed (<paramref name="cut"/>).</summary>
    private static string Words(ReadOnlySpan<byte> data, bool cut)
    {
        var shown = Math.Min(data.Length / 2, ShownValues);
        var values = new string[shown];
        for (var i = 0; i < shown; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt16BigEndian(data[(2 * i)..]).ToString(CultureInfo.InvariantCulture);
        }

        return $"[{string.Join(", ", values)}{(cut || data.Length / 2 > shown ? ", …" : "")}]";
    }

    private static string Bits(ReadOnlySpan<byte> data, int quantity)
    {
        var shown = Math.Min(Math.Min(quantity, data.Length * 8), ShownValues * 2);
        var bits = new char[shown];
        for (var i = 0; i < shown; i++)
        {
            bits[i] = (data[i / 8] & (1 << (i % 8))) != 0 ? '1' : '0';
        }

        return new string(bits) + (quantity > shown ? "…" : "");
    }

    private static string Hex(ReadOnlySpan<byte> kept, int length) =>
        Convert.ToHexString(kept) + (length > kept.Length ? "…" : "");
}
