using System.Globalization;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>A device served from its register map: four tables in memory, answered synchronously.</summary>
public sealed class SimulatedDevice : IModbusDevice
{
    /// <summary>What can change while running (hot reload) is swapped whole, so a request sees one version.</summary>
    private volatile Live _live;

    /// <summary>Builds the device and writes the map's initial values; the options must have passed validation.</summary>
    public SimulatedDevice(DeviceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Unit = (byte)options.Unit;
        Name = options.Name ?? $"unit {options.Unit}";
        Bank = new RegisterBank(options.Coils, options.DiscreteInputs, options.HoldingRegisters, options.InputRegisters);
        foreach (var register in options.Registers.Where(r => r.Value is not null))
        {
            WriteInitialValue(RegisterDefinition.From(register), register.Value!);
        }

        _live = new Live(options, previous: null);
    }

    /// <summary>The unit id.</summary>
    public byte Unit { get; }

    /// <summary>The name from config, or "unit N".</summary>
    public string Name { get; }

    /// <summary>The four tables.</summary>
    public RegisterBank Bank { get; }

    /// <summary>Names and types of the registers.</summary>
    public RegisterMap Map => _live.Map;

    internal DiagnosticCounters Counters { get; } = new();

    /// <summary>Number of registers with a generator.</summary>
    public int GeneratedCount => _live.Generated.Length;

    /// <summary>True when a Modbus write to <paramref name="address"/> of <paramref name="table"/> is refused as read-only.</summary>
    public bool IsReadOnly(RegisterTable table, int address) => _live.Protection.IsReadOnly(table, address);

    /// <summary>How often <see cref="UpdateGenerated"/> should run.</summary>
    public TimeSpan UpdateInterval => _live.Options.UpdateInterval;

    /// <summary>
    /// Applies a changed configuration of this device while it serves (hot reload): the register map, generators,
    /// read-only ranges, identification, and the initial values of registers new to the map. Invariant: a reload
    /// never overwrites the live value of a register the map already had (same table, address and layout), whatever
    /// its initial value says now: the live value may be what a client wrote. False with <paramref name="reason"/>
    /// when the change needs a restart (table sizes, unit, kind).
    /// </summary>
    public bool TryReconfigure(DeviceOptions options, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(options);
        var current = _live.Options;
        reason = (options.Coils, options.DiscreteInputs, options.HoldingRegisters, options.InputRegisters) != (current.Coils, current.DiscreteInputs, current.HoldingRegisters, current.InputRegisters)
            ? "the table sizes changed"
            : options.Upstream is not null ? "the device is now behind an upstream" : null;
        if (reason is not null)
        {
            return false;
        }

        // Built before the lock: requests to the device wait only for the new registers' initial values.
        var previous = _live.Map;
        var live = new Live(options, previous);
        var added = options.Registers.Where(r => r.Value is not null && !previous.HasSameLayout(r)).ToList();
        lock (Bank.Sync)
        {
            foreach (var register in added)
            {
                WriteInitialValue(RegisterDefinition.From(register), register.Value!);
            }

            _live = live;
        }

        return true;
    }

    /// <summary>
    /// Moves every generated register to its value at <paramref name="elapsed"/> since the simulation started, all
    /// under the bank's lock, so a reader sees one consistent update. Read-only registers included: the generator is
    /// the device itself. Values written by clients are replaced.
    /// </summary>
    public void UpdateGenerated(TimeSpan elapsed)
    {
        Span<ushort> registers = stackalloc ushort[2];
        lock (Bank.Sync)
        {
            foreach (var (definition, generator) in _live.Generated)
            {
                var value = generator.ValueAt(elapsed);
                if (RegisterDefinition.IsBitTable(definition.Table))
                {
                    Bank.WriteOwnBits(definition.Table, definition.Address, [value >= 0.5]);
                    continue;
                }

                var span = registers[..definition.Count];
                definition.EncodeNearest(value, span);
                Bank.WriteOwnRegisters(definition.Table, definition.Address, span);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        new(Execute(request.Span, response.Span));

    /// <summary>The synchronous core of <see cref="ExecuteAsync"/>.</summary>
    public int Execute(ReadOnlySpan<byte> request, Span<byte> response) =>
        Process(request, response, _live);

    private int Process(ReadOnlySpan<byte> request, Span<byte> response, Live live) =>
        ModbusPduProcessor.Process(request, response, Bank, live.Protection, live.Identification, Counters, Unit);

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

    /// <summary>
    /// The generator of a validated entry. Bits run between 0 and 1 from their value; counter and random walk start
    /// at the value (else min, or mid-range for the walk); a constant holds the value (else 0).
    /// </summary>
    private static ValueGenerator CreateGenerator(RegisterOptions register)
    {
        var options = register.Generator!;
        if (RegisterDefinition.IsBitTable(register.Table))
        {
            var on = register.Value is not null && RegisterDefinition.ParseBit(register.Value);
            return new ValueGenerator(options, 0, 1, on ? 1 : 0);
        }

        double? value = register.Value is null ? null : double.Parse(register.Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        var start = options.Kind switch
        {
            GeneratorKind.Constant => value ?? 0,
            GeneratorKind.RandomWalk => value ?? (options.Min + options.Max) / 2,
            _ => value ?? options.Min,
        };
        return new ValueGenerator(options, options.Min, options.Max, options.Kind == GeneratorKind.Toggle ? options.Min : start);
    }

    private void WriteInitialValue(RegisterDefinition definition, string value)
    {
        if (RegisterDefinition.IsBitTable(definition.Table))
        {
            Bank.WriteOwnBits(definition.Table, definition.Address, [RegisterDefinition.ParseBit(value)]);
            return;
        }

        Span<ushort> registers = stackalloc ushort[definition.Count];
        definition.Encode(value, registers);
        Bank.WriteOwnRegisters(definition.Table, definition.Address, registers);
    }

    /// <summary>
    /// The parts of the device a hot reload replaces, built together from one configuration; the register map reuses
    /// what <paramref name="previous"/> already had (<see cref="RegisterMap.Reusing"/>).
    /// </summary>
    private sealed class Live(DeviceOptions options, RegisterMap? previous)
    {
        public DeviceOptions Options { get; } = options;

        public RegisterMap Map { get; } = RegisterMap.Reusing(previous, options.Registers);

        public DeviceIdentification Identification { get; } = new(IdentificationObjects(options.Identification));

        public WriteProtection Protection { get; } = new(options);

        public (RegisterDefinition Definition, ValueGenerator Generator)[] Generated { get; } =
            [.. options.Registers.Where(r => r.Generator is not null).Select(r => (RegisterDefinition.From(r), CreateGenerator(r)))];
    }
}
