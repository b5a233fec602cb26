using System.Globalization;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>A device served from its register map: four tables in memory, answered synchronously.</summary>
public sealed class SimulatedDevice : IModbusDevice
{
    private readonly DeviceIdentification _identification;

    /// <summary>Builds the device and writes the map's initial values; the options must have passed validation.</summary>
    public SimulatedDevice(DeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Unit = (byte)options.Unit;
        Name = options.Name ?? $"unit {options.Unit}";
        Bank = new RegisterBank(options.Coils, options.DiscreteInputs, options.HoldingRegisters, options.InputRegisters);
        Map = new RegisterMap(options.Registers.Select(RegisterDefinition.From));
        _identification = new DeviceIdentification(IdentificationObjects(options.Identification));
        foreach (var register in options.Registers.Where(r => r.Value is not null))
        {
            WriteInitialValue(RegisterDefinition.From(register), register.Value!);
        }
    }

    /// <summary>The unit id.</summary>
    public byte Unit { get; }

    /// <summary>The name from config, or "unit N".</summary>
    public string Name { get; }

    /// <summary>The four tables.</summary>
    public RegisterBank Bank { get; }

    /// <summary>Names and types of the registers.</summary>
    public RegisterMap Map { get; }

    internal DiagnosticCounters Counters { get; } = new();

    /// <inheritdoc />
    public ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        new(Execute(request.Span, response.Span));

    /// <summary>The synchronous core of <see cref="ExecuteAsync"/>.</summary>
    public int Execute(ReadOnlySpan<byte> request, Span<byte> response) =>
        ModbusPduProcessor.Process(request, response, Bank, _identification, Counters, Unit);

    /// <summary>Objects 0x00..0x06 and the private ones, in the form <see cref="DeviceIdentification"/> takes.</summary>
    internal static IEnumerable<KeyValuePair<byte, string>> IdentificationObjects(DeviceIdentificationOptions options)
    {
        string?[] standard = [options.VendorName, options.ProductCode, options.MajorMinorRevision, options.VendorUrl, options.ProductName, options.ModelName, options.UserApplicationName];
        for (var id = 0; id < standard.Length; id++)
        {
            if (standard[id] is { } value)
            {
                yield return new((byte)id, value);
            }
        }

        foreach (var (key, value) in options.Private)
        {
            yield return new(ParsePrivateObjectId(key), value);
        }
    }

    /// <summary>Parses a private object key, "0x80" or "128"; throws <see cref="FormatException"/> outside 0x80..0xFF.</summary>
    internal static byte ParsePrivateObjectId(string key)
    {
        var parsed = key.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(key.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var hex) ? hex : -1
            : int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var dec) ? dec : -1;
        return parsed is >= DeviceIdentificationObjects.FirstPrivate and <= 0xFF
            ? (byte)parsed
            : throw new FormatException($"'{key}' is not a private object id (0x80..0xFF).");
    }

    private void WriteInitialValue(RegisterDefinition definition, string value)
    {
        if (RegisterDefinition.IsBitTable(definition.Table))
        {
            Bank.WriteBits(definition.Table, definition.Address, [RegisterDefinition.ParseBit(value)]);
            return;
        }

        Span<ushort> registers = stackalloc ushort[definition.Count];
        definition.Encode(value, registers);
        Bank.WriteRegisters(definition.Table, definition.Address, registers);
    }
}
