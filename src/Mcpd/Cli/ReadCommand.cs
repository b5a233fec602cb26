using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mcpd.Client;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary><c>mcpd read HOST:PORT TABLE ADDRESS [COUNT]</c>: reads and prints values, typed when a map or --type says how.</summary>
internal static class ReadCommand
{
    public static Command Create()
    {
        var common = new ClientOptions(Enum.GetValues<RegisterTable>());
        var count = new Argument<int>("count")
        {
            Description = "How many: bits or registers, or values of --type (string: the registers it spans)",
            DefaultValueFactory = _ => 1,
            CustomParser = CliValues.Integer("a count", 1, ModbusLimits.MaxReadBits),
        };
        var type = TypeOption("Read values of this type");
        var wordOrder = WordOrderOption();
        var command = new Command("read", "Read coils, discrete inputs, holding or input registers")
        {
            common.Endpoint, common.Table, common.Address, count, common.Unit, type, wordOrder, common.Map, common.Json, common.Timeout, common.Admin,
        };
        common.Tls.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var endpoint = result.GetRequiredValue(common.Endpoint);
            var table = result.GetRequiredValue(common.Table);
            var address = result.GetRequiredValue(common.Address);
            var quantity = result.GetRequiredValue(count);
            var unit = result.GetValue(common.Unit);
            var json = result.GetValue(common.Json);
            var format = result.GetValue(type) is { } t ? new RegisterFormat(t, result.GetValue(wordOrder), quantity) : (RegisterFormat?)null;
            var registerCount = RegistersToRead(quantity, format?.Type);
            if (!RegisterDefinition.IsBitTable(table) && registerCount > ModbusLimits.MaxReadRegisters)
            {
                return Task.FromResult(CliValues.RefuseUsage(result,
                    $"<count>: {registerCount} registers are more than one read can carry ({ModbusLimits.MaxReadRegisters}, Modbus Application Protocol 6.3)"));
            }

            RegisterMap map;
            try
            {
                map = ClientRunner.LoadMap(result.GetValue(common.Map), unit);
            }
            catch (Exception ex) when (ConfigurationFileError.IsLoadFailure(ex) || ex is ArgumentException or InvalidOperationException)
            {
                var problem = ex is ArgumentException ? ex.Message : ConfigurationFileError.Describe(ex, result.GetValue(common.Map));
                return Task.FromResult(CliValues.RefuseUsage(result, $"--map: {problem}"));
            }

            var request = new ClientRunner.Request(unit, table, address, RegisterDefinition.IsBitTable(table) ? quantity : registerCount, Write: false, result.GetValue(common.Admin));
            if (!common.Tls.TryRead(result, out var tls, out var tlsProblem))
            {
                return Task.FromResult(CliValues.RefuseUsage(result, tlsProblem));
            }

            return ClientRunner.RunAsync(endpoint, result.GetValue(common.Timeout), tls, request, async client =>
            {
                List<Row> rows;
                if (RegisterDefinition.IsBitTable(table))
                {
                    var bits = table == RegisterTable.Coils
                        ? await client.ReadCoilsAsync(unit, address, quantity, cancellationToken)
                        : await client.ReadDiscreteInputsAsync(unit, address, quantity, cancellationToken);
                    rows = [.. bits.Select((bit, i) => BitRow(map.Find(table, address + i), address + i, bit))];
                }
                else
                {
                    var registers = table == RegisterTable.Holding
                        ? await client.ReadHoldingRegistersAsync(unit, address, registerCount, cancellationToken)
                        : await client.ReadInputRegistersAsync(unit, address, registerCount, cancellationToken);
                    rows = RegisterRows(table, address, registers, map, format);
                }

                Print(rows, json, endpoint, unit, table, address);
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>--type: uint16, int16, uint32, int32, float32 or string.</summary>
    public static Option<RegisterDataType?> TypeOption(string description) => new("--type", "-t")
    {
        Description = description,
        HelpName = CliValues.Names(Enum.GetValues<RegisterDataType>()),
        CustomParser = result => CliValues.OneOf(Enum.GetValues<RegisterDataType>())(result),
    };

    /// <summary>--word-order of 32-bit types.</summary>
    public static Option<WordOrder> WordOrderOption() => new("--word-order")
    {
        Description = "Word order of 32-bit types: highwordfirst (ABCD, the default) or lowwordfirst (CDAB)",
        HelpName = CliValues.Names(Enum.GetValues<WordOrder>()),
        CustomParser = CliValues.OneOf(Enum.GetValues<WordOrder>()),
    };

    /// <summary>
    /// Registers a read of <paramref name="count"/> spans: one each untyped or for a string (the count is its length in
    /// registers), else count values of the type's width (as mbpoll counts -c with -t).
    /// </summary>
    private static int RegistersToRead(int count, RegisterDataType? type) =>
        type is null or RegisterDataType.String ? count : count * new RegisterFormat(type.Value).RegisterCount;

    /// <summary>One printed line: an address, its name and value as the map or --type reads it, the raw registers.</summary>
    private sealed record Row(int Address, string? Name, object Value, string? Unit, ushort[] Raw, string? Description);

    private static Row BitRow(RegisterDefinition? definition, int address, bool bit) =>
        new(address, definition?.Name, bit, null, [(ushort)(bit ? 1 : 0)], definition?.Description);

    private static List<Row> RegisterRows(RegisterTable table, int address, ushort[] registers, RegisterMap map, RegisterFormat? format)
    {
        var rows = new List<Row>();
        for (var i = 0; i < registers.Length;)
        {
            var definition = format is { } f
                ? new RegisterDefinition(table, address + i, null, null, f, null, 1)
                : map.Find(table, address + i);
            if (definition is null || i + definition.Count > registers.Length)
            {
                rows.Add(new Row(address + i, null, registers[i], null, [registers[i]], null));
                i++;
                continue;
            }

            var raw = registers.AsSpan(i, definition.Count);
            rows.Add(new Row(address + i, definition.Name, definition.Decode(raw), definition.Unit, raw.ToArray(), definition.Description));
            i += definition.Count;
        }

        return rows;
    }

    private static void Print(List<Row> rows, bool json, HostPort endpoint, byte unit, RegisterTable table, int address)
    {
        if (json)
        {
            using var writer = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteString("endpoint", endpoint.ToString());
            writer.WriteNumber("unit", unit);
            writer.WriteString("table", table.ToString().ToLowerInvariant());
            writer.WriteNumber("address", address);
            writer.WriteStartArray("values");
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                writer.WriteNumber("address", row.Address);
                if (row.Name is not null)
                {
                    writer.WriteString("name", row.Name);
                }

                switch (row.Value)
                {
                    case bool bit: writer.WriteBoolean("value", bit); break;
                    case string text: writer.WriteString("value", text); break;
                    case double number when double.IsFinite(number): writer.WriteNumber("value", number); break;
                    case double number: writer.WriteString("value", number.ToString(CultureInfo.InvariantCulture)); break;
                    default: writer.WriteNumber("value", Convert.ToDouble(row.Value, CultureInfo.InvariantCulture)); break;
                }

                if (row.Unit is not null)
                {
                    writer.WriteString("unit", row.Unit);
                }

                writer.WriteStartArray("raw");
                foreach (var register in row.Raw)
                {
                    writer.WriteNumberValue(register);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            Console.WriteLine();
            return;
        }

        string[] header = ["ADDRESS", "NAME", "VALUE", "RAW", "DESCRIPTION"];
        var lines = rows.Select(row => new[]
        {
            row.Address.ToString(CultureInfo.InvariantCulture),
            row.Name ?? "-",
            FormatValue(row.Value) + (row.Unit is null ? "" : $" {row.Unit}"),
            string.Join(' ', row.Raw.Select(r => $"0x{r:X4}")),
            row.Description ?? "",
        }).ToList();
        var widths = header.Select((h, c) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[c].Length))).ToArray();
        Console.WriteLine($"{table.ToString().ToLowerInvariant()} {address}..{address + rows.Sum(r => Math.Max(1, r.Raw.Length)) - 1} of unit {unit} at {endpoint}");
        foreach (var line in lines.Prepend(header))
        {
            Console.WriteLine(string.Join("  ", line.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
        }
    }

    private static string FormatValue(object value) => value switch
    {
        bool bit => bit ? "1 (on)" : "0 (off)",
        string text => $"\"{text}\"",
        double number => number.ToString("G7", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
