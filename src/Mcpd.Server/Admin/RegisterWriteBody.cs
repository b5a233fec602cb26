using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Admin;

/// <summary>
/// The body of <c>PUT /api/devices/{unit}/registers/{address}</c> (docs/api.md, "Writing values"):
/// <c>{"value": V}</c> in engineering units (by the map entry that starts at the address; else a raw 0..65535, or a
/// bit for coils and discrete inputs) or <c>{"raw": [w1, w2, ...]}</c>, 1..123 words.
/// </summary>
internal static class RegisterWriteBody
{
    /// <summary>
    /// The words <paramref name="json"/> asks to write at an address of <paramref name="table"/> where
    /// <paramref name="definition"/> starts (null: none). False with the <paramref name="problem"/> a 400 names, for
    /// any bytes: this throws for no body a peer can send.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<byte> json, RegisterTable table, RegisterDefinition? definition, out ushort[] words, [NotNullWhen(false)] out string? problem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            words = [];
            problem = $"the body must be JSON {{\"value\": ...}} or {{\"raw\": [...]}}: {ex.Message}";
            return false;
        }

        using (document)
        {
            return TryEncode(document.RootElement, table, definition, out words, out problem);
        }
    }

    private static bool TryEncode(JsonElement body, RegisterTable table, RegisterDefinition? definition, out ushort[] words, [NotNullWhen(false)] out string? problem)
    {
        words = [];
        problem = null;
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("raw", out _) && body.TryGetProperty("value", out _))
        {
            problem = "give either \"value\" or \"raw\", not both";
            return false;
        }

        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("raw", out var raw) && raw.ValueKind == JsonValueKind.Array)
        {
            return TryEncodeRaw(raw, out words, out problem);
        }

        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("value", out var value))
        {
            problem = "the body must be {\"value\": ...} or {\"raw\": [...]}";
            return false;
        }

        return TryEncodeValue(value, table, definition, out words, out problem);
    }

    /// <summary>Raw words: a JSON array of 1..123 numbers 0..65535. False with the problem otherwise.</summary>
    public static bool TryEncodeRaw(JsonElement raw, out ushort[] words, [NotNullWhen(false)] out string? problem)
    {
        words = [];
        problem = null;
        if (raw.ValueKind != JsonValueKind.Array)
        {
            problem = "raw values are an array of 0..65535";
            return false;
        }

        var list = new List<ushort>();
        foreach (var item in raw.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetUInt16(out var word))
            {
                problem = "raw values are 0..65535";
                return false;
            }

            list.Add(word);
        }

        words = [.. list];
        problem = words.Length is 0 or > ModbusLimits.MaxWriteRegisters ? $"1..{ModbusLimits.MaxWriteRegisters} raw values" : null;
        return problem is null;
    }

    /// <summary>
    /// One value in engineering units (a number, a string, or a bit as true/false, on/off, 1/0) as the words of the
    /// entry <paramref name="definition"/> (null: a raw 0..65535, or a bit for the bit tables). False with the problem otherwise.
    /// </summary>
    public static bool TryEncodeValue(JsonElement value, RegisterTable table, RegisterDefinition? definition, out ushort[] words, [NotNullWhen(false)] out string? problem)
    {
        words = [];
        problem = null;
        if (!TryReadText(value, out var text))
        {
            problem = "the value is not Unicode text (bytes that are not UTF-8, or an escaped lone surrogate)";
            return false;
        }

        if (RegisterDefinition.IsBitTable(table))
        {
            try
            {
                words = [RegisterDefinition.ParseBit(value.ValueKind switch { JsonValueKind.True => "1", JsonValueKind.False => "0", _ => text }) ? (ushort)1 : (ushort)0];
                return true;
            }
            catch (FormatException ex)
            {
                problem = ex.Message;
                return false;
            }
        }

        if (definition is null)
        {
            ushort single = 0;
            problem = value.ValueKind == JsonValueKind.Number && value.TryGetUInt16(out single) ? null : "no map entry starts here: the value must be a raw 0..65535";
            words = [single];
            return problem is null;
        }

        words = new ushort[definition.Count];
        try
        {
            definition.Encode(text, words);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            problem = $"'{text}' does not fit {definition.Name ?? "the entry"} ({definition.Format.Type}): {ex.Message}";
            return false;
        }
    }

    /// <summary>
    /// A string's text, or any other value as its JSON. False for a string that is not Unicode: JsonDocument checks a
    /// string's bytes and escapes only when it is read, and then throws.
    /// </summary>
    private static bool TryReadText(JsonElement value, out string text)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            text = value.GetRawText();
            return true;
        }

        try
        {
            text = value.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }
}
