using System.CommandLine;
using System.Globalization;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd write HOST:PORT TABLE ADDRESS VALUE...</c>: one value uses FC05/FC06, several FC0F/FC10 (as mbpoll does).
/// </summary>
internal static class WriteCommand
{
    public static Command Create()
    {
        var common = new ClientOptions([RegisterTable.Coils, RegisterTable.Holding], "discrete inputs and input registers are read-only in Modbus");
        var values = new Argument<string[]>("values") { Description = "Values: 0/1 (or on/off) for coils; numbers for registers, 0x-hex allowed", Arity = ArgumentArity.OneOrMore };
        var type = ReadCommand.TypeOption("Encode each value as this type");
        var wordOrder = ReadCommand.WordOrderOption();
        var command = new Command("write", "Write coils or holding registers")
        {
            common.Endpoint, common.Table, common.Address, values, common.Unit, type, wordOrder, common.Json, common.Timeout, common.Admin,
        };
        common.Tls.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var endpoint = result.GetRequiredValue(common.Endpoint);
            var table = result.GetRequiredValue(common.Table);
            var address = result.GetRequiredValue(common.Address);
            var texts = result.GetRequiredValue(values);
            var unit = result.GetValue(common.Unit);
            var json = result.GetValue(common.Json);
            var format = result.GetValue(type) is { } t ? new RegisterFormat(t, result.GetValue(wordOrder)) : (RegisterFormat?)null;
            bool[] bits = [];
            ushort[] registers = [];
            try
            {
                if (table == RegisterTable.Coils)
                {
                    bits = [.. texts.Select(RegisterDefinition.ParseBit)];
                }
                else
                {
                    registers = EncodeRegisters(texts, format);
                }
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                return Task.FromResult(CliValues.RefuseUsage(result, $"<values>: {ex.Message.TrimEnd('.')}"));
            }

            if (bits.Length > ModbusLimits.MaxWriteBits || registers.Length > ModbusLimits.MaxWriteRegisters)
            {
                return Task.FromResult(CliValues.RefuseUsage(result, bits.Length > 0
                    ? $"<values>: {bits.Length} coils are more than one write can carry ({ModbusLimits.MaxWriteBits}, Modbus Application Protocol 6.11)"
                    : $"<values>: {registers.Length} registers are more than one write can carry ({ModbusLimits.MaxWriteRegisters}, Modbus Application Protocol 6.12)"));
            }

            var request = new ClientRunner.Request(unit, table, address, bits.Length + registers.Length, Write: true, result.GetValue(common.Admin));
            if (!common.Tls.TryRead(result, out var tls, out var tlsProblem))
            {
                return Task.FromResult(CliValues.RefuseUsage(result, tlsProblem));
            }

            return ClientRunner.RunAsync(endpoint, result.GetValue(common.Timeout), tls, request, async client =>
            {
                if (bits.Length > 0)
                {
                    await (bits.Length == 1
                        ? client.WriteSingleCoilAsync(unit, address, bits[0], cancellationToken)
                        : client.WriteMultipleCoilsAsync(unit, address, bits, cancellationToken));
                }
                else
                {
                    await (registers.Length == 1
                        ? client.WriteSingleRegisterAsync(unit, address, registers[0], cancellationToken)
                        : client.WriteMultipleRegistersAsync(unit, address, registers, cancellationToken));
                }

                var written = bits.Length + registers.Length;
                var noun = table == RegisterTable.Coils ? "coil" : "holding register";
                Console.WriteLine(json
                    ? $"{{\"endpoint\":\"{endpoint}\",\"unit\":{unit},\"table\":\"{table.ToString().ToLowerInvariant()}\",\"address\":{address},\"written\":{written}}}"
                    : $"wrote {written} {noun}{(written == 1 ? "" : "s")} at {address}..{address + written - 1} of unit {unit} at {endpoint}");
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>Encodes each value with <paramref name="format"/>, or as one 16-bit register (-32768..65535, 0x-hex).</summary>
    private static ushort[] EncodeRegisters(string[] texts, RegisterFormat? format)
    {
        var registers = new List<ushort>();
        foreach (var text in texts)
        {
            if (format is { } f)
            {
                var stringFormat = f.Type == RegisterDataType.String ? f with { StringRegisters = (System.Text.Encoding.UTF8.GetByteCount(text) + 1) / 2 } : f;
                var definition = new RegisterDefinition(RegisterTable.Holding, 0, null, null, stringFormat, null, 1);
                var encoded = new ushort[definition.Count];
                definition.Encode(text, encoded);
                registers.AddRange(encoded);
            }
            else
            {
                registers.Add(ParseWord(text));
            }
        }

        return [.. registers];
    }

    private static ushort ParseWord(string text)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && ushort.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex))
        {
            return hex;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number is >= short.MinValue and <= ushort.MaxValue
            ? unchecked((ushort)number)
            : throw new FormatException($"'{text}' is not a 16-bit register value (-32768..65535 or 0x0000..0xFFFF); use --type for wider types.");
    }
}
