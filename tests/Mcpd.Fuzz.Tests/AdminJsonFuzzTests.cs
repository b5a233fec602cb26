using System.Text;
using System.Text.Json;
using CsCheck;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Admin;
using Mcpd.Server.Devices;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Target <c>admin-json</c>: the body of the admin API's register write, <c>PUT /api/devices/{unit}/registers/{address}</c>
/// (RegisterWriteBody), against each kind of address it can name: a bit, a register with no map entry, and map
/// entries of every type, word order and a scale.
/// </summary>
public class AdminJsonFuzzTests
{
    private static readonly (RegisterTable Table, RegisterDefinition? Definition)[] Targets =
    [
        (RegisterTable.Coils, null),
        (RegisterTable.Discrete, null),
        (RegisterTable.Holding, null),
        (RegisterTable.Holding, Entry(RegisterDataType.UInt16, scale: 1)),
        (RegisterTable.Holding, Entry(RegisterDataType.Int16, scale: 0.1)),
        (RegisterTable.Input, Entry(RegisterDataType.UInt32, scale: 1, WordOrder.LowWordFirst)),
        (RegisterTable.Holding, Entry(RegisterDataType.Int32, scale: 1)),
        (RegisterTable.Holding, Entry(RegisterDataType.Float32, scale: 10)),
        (RegisterTable.Holding, Entry(RegisterDataType.String, scale: 1)),
    ];

    /// <summary>JSON values at the edges: numbers past every type's range, strings a bit or a number is parsed from, text that is not Unicode.</summary>
    private static readonly string[] Values =
    [
        "\"\\ud800\"", "\"\\udc00x\"", "\"on\"", "\" TRUE \"", "\"\\u0000\"", "1e400", "-1e400", "-1", "0", "-0", "1", "0.5", "65535", "65536",
        "2147483648", "4294967296", "3.4028236e38", "1e-50", "true", "false", "null", "[]", "{}", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"",
        "\"0x10\"", "\"1,5\"", "\"12 \"", "\"1e400\"",
    ];

    /// <summary>Pieces of JSON that bodies are strung together from: structure, the two keys and the values.</summary>
    private static readonly string[] Tokens = ["{", "}", "[", "]", ":", ",", " ", "\"value\"", "\"raw\"", .. Values];

    [Fact]
    public void Parsing_any_body_answers_words_or_a_problem_and_round_trips_values() =>
        Fuzzer.Run("admin-json", Replay, Bodies(), Check, body => body.Json);

    private static void Replay(byte[] json)
    {
        for (var target = 0; target < Targets.Length; target++)
        {
            Check(new AdminBody(json, target, null));
        }
    }

    /// <summary>Bodies written from words at each target, those mutated, edge values in both forms, and token soup.</summary>
    private static Gen<AdminBody> Bodies()
    {
        var valid = Gen.Int[0, Targets.Length - 1].SelectMany(target => Gen.Frequency(
            (1, Gen.UShort.Array[1, ModbusLimits.MaxWriteRegisters].Select(words => new AdminBody(Json(writer => WriteRaw(writer, words)), target, words))),
            (3, ValueBody(target))));
        return Gen.Frequency(
            (2, valid),
            (3, Gen.Select(Mutations.Of(valid.Select(body => body.Json)), Gen.Int[0, Targets.Length - 1], (json, target) => new AdminBody(json, target, null))),
            (1, Gen.Select(Gen.OneOf(Values), Gen.Int[0, Targets.Length - 1], (value, target) => Soup(target, "{\"value\":", value, "}"))),
            (1, Gen.Select(Gen.OneOf(Values).Array[1, 4], Gen.Int[0, Targets.Length - 1], (values, target) => Soup(target, "{\"raw\":[", string.Join(',', values), "]}"))),
            (1, Gen.Select(Gen.OneOf(Tokens).Array[1, 12], Gen.Int[0, Targets.Length - 1], (tokens, target) => Soup(target, tokens))));

        static AdminBody Soup(int target, params string[] pieces) => new(Encoding.UTF8.GetBytes(string.Concat(pieces)), target, null);
    }

    /// <summary><c>{"value": V}</c> where V is what the target's words read as: a bit, a raw word, a number by the entry's type and scale, a string.</summary>
    private static Gen<AdminBody> ValueBody(int target)
    {
        var (table, definition) = Targets[target];
        if (RegisterDefinition.IsBitTable(table))
        {
            return Gen.Select(Gen.Bool, Gen.OneOf<Func<bool, object>>(bit => bit, bit => bit ? "on" : "OFF", bit => bit ? 1 : 0), (bit, spelling) =>
                new AdminBody(Json(writer => Write(writer, spelling(bit))), target, [bit ? (ushort)1 : (ushort)0]));
        }

        if (definition is null)
        {
            return Gen.UShort.Select(word => new AdminBody(Json(writer => writer.WriteNumber("value", word)), target, [word]));
        }

        if (definition.Format.Type == RegisterDataType.String)
        {
            return Gen.String[0, 8].Where(text => !text.EndsWith('\0') && Encoding.UTF8.GetByteCount(text) <= 2 * definition.Count && !text.Any(char.IsSurrogate)).Select(text =>
            {
                var words = new ushort[definition.Count];
                definition.Encode(text, words);
                return new AdminBody(Json(writer => writer.WriteString("value", text)), target, words);
            });
        }

        return Gen.UShort.Array[definition.Count].Where(words => double.IsFinite((double)definition.Decode(words))).Select(words =>
            new AdminBody(Json(writer => writer.WriteNumber("value", (double)definition.Decode(words))), target, words));
    }

    /// <summary>
    /// Any bytes parse to words or to a problem for a 400, never an exception; parsed words are 1..123, and a JSON
    /// number for a numeric entry is stored as a number (not an infinity); a body written from words parses back to
    /// the same words.
    /// </summary>
    private static void Check(AdminBody body)
    {
        var (table, definition) = Targets[body.Target];
        if (RegisterWriteBody.TryParse(body.Json, table, definition, out var words, out var problem))
        {
            Assert.InRange(words.Length, 1, ModbusLimits.MaxWriteRegisters);
            if (definition is { Format.Type: not RegisterDataType.String } && IsNumberValue(body.Json))
            {
                Assert.True(double.IsFinite((double)definition.Decode(words)), "a JSON number stored as an infinity");
            }
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(problem));
            Assert.True(body.Words is null, $"refused: {problem}");
        }

        if (body.Words is not null)
        {
            Assert.Equal(body.Words, words);
        }
    }

    private static bool IsNumberValue(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.Number;
    }

    private static RegisterDefinition Entry(RegisterDataType type, double scale, WordOrder order = WordOrder.HighWordFirst) =>
        new(RegisterTable.Holding, 0, type.ToString(), null, new RegisterFormat(type, order, StringRegisters: 4), null, scale);

    private static void WriteRaw(Utf8JsonWriter writer, ushort[] words)
    {
        writer.WriteStartArray("raw");
        foreach (var word in words)
        {
            writer.WriteNumberValue(word);
        }

        writer.WriteEndArray();
    }

    private static void Write(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case bool bit:
                writer.WriteBoolean("value", bit);
                break;
            case int number:
                writer.WriteNumber("value", number);
                break;
            default:
                writer.WriteString("value", (string)value);
                break;
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> writeProperty)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writeProperty(writer);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }
}

/// <summary>A register-write body for one of the targets; when <see cref="Words"/> is set, the body was written from those words.</summary>
internal sealed record AdminBody(byte[] Json, int Target, ushort[]? Words)
{
    public override string ToString() => $"target {Target}: {Encoding.UTF8.GetString(Json)}" + (Words is null ? "" : $" written from [{string.Join(", ", Words)}]");
}
